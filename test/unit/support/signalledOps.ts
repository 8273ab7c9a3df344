// Child of signals.test.ts: TF matrix multiplies on the main thread for argv[2]
// ms while the parent sends SIGUSR2, which a handler here counts. Each 20th
// product is compared with one computed before any signal. Prints
// "done <ops> <signals handled> <mismatches>", or "unavailable: …" without tfjs-node.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../server/backend';
import { dtKernelsStatus } from '../../../server/models/layers/nativeKernels';

let handled = 0;
process.on('SIGUSR2', () => handled++);

(async () => {
  try {
    await initBackend('tensorflow');
  } catch (err) {
    process.stdout.write(`unavailable: ${(err as Error).message}\n`);
    return;
  }
  process.stderr.write(`native kernels: ${JSON.stringify(dtKernelsStatus())}\n`);
  // the shapes of a 3x3 convolution of 128 channels on a 16x16 map, as im2col products
  const a = tf.randomNormal([256, 1152], 0, 1, 'float32', 1);
  const b = tf.randomNormal([1152, 128], 0, 1, 'float32', 2);
  const product = () => {
    const y = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
    const values = y.dataSync();
    y.dispose();
    return values;
  };
  const want = product();
  process.stdout.write('ready\n');
  const end = Date.now() + Number(process.argv[2]);
  let ops = 0;
  let mismatches = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 19; i++) tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D).dispose();
    const got = product();
    if (got.some((v, i) => v !== want[i])) mismatches++;
    ops += 20;
    await new Promise((r) => setImmediate(r)); // lets the handler run
  }
  process.stdout.write(`done ${ops} ${handled} ${mismatches}\n`);
  // the parent stops signalling when it reads "done"
  setTimeout(() => process.exit(0), 300);
})();
