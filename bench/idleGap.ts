// What an op costs when the other core sat idle just before it: the main
// thread busy-waits `gap` µs, as JavaScript between kernels does, then one op
// is timed. On this VM, after a 5 ms gap a convolution ran up to 1.9x and a
// small Add ~5x slower than back to back. An idle vCPU halts here (no
// cpuidle driver); with a busy loop on the other core the convolution's
// penalty after 1 ms went away. A training step's gaps are mostly short,
// though (README, Performance). Then a switch between the two thread pools:
// oneDNN's weight gradient (TF's threads) and the convolution above (ours),
// each right after itself and right after the other.
//   node --import tsx bench/idleGap.ts
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../server/backend';
import { FILTER_GRADS } from '../server/models/layers/conv';
import { hasOneDnn, splitConvs } from '../server/models/layers/nativeKernels';

const GAPS_US = [0, 100, 300, 500, 1000, 2000, 5000];
const RUNS = 300;

/** Median, 10th and 90th percentile in ms of `op`'s wall time, each run right after `before` (untimed). */
function timedAfter(before: (i: number) => void, op: (i: number) => tf.Tensor): [number, number, number] {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    before(i + 1);
    const t = performance.now();
    op(i).dispose();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return [ms[RUNS >> 1], ms[Math.floor(RUNS * 0.1)], ms[Math.floor(RUNS * 0.9)]];
}

/** Busy JavaScript for `gapUs`, which leaves the other core idle. */
function busyWait(gapUs: number): void {
  const start = performance.now();
  while ((performance.now() - start) * 1000 < gapUs);
}

(async () => {
  const backend = await initBackend();
  console.log(`backend: ${backend.name} (native kernels: ${backend.nativeKernels})`);
  // a ResNet block's input gradient at 128 px, batch 1 (dy padded by 2, as the trainer runs it); inputs rotate so none stays in cache
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [2, 2], [2, 2], [0, 0]];
  const ws = Array.from({ length: 6 }, () => tf.randomUniform([3, 3, 128, 128]) as tf.Tensor4D);
  const xs = Array.from({ length: 6 }, () => tf.randomNormal([1, 32, 32, 128]) as tf.Tensor4D);
  const ops: Record<string, (i: number) => tf.Tensor> = {
    'conv2d 1x32x32x128, 3x3x128x128, pad 2': (i) => tf.conv2d(xs[i % 6], ws[i % 6], 1, pads),
    'add 1x32x32x128': (i) => tf.add(xs[i % 6], xs[(i + 1) % 6]),
  };
  console.log('op\tgap µs\tmedian ms\tp10\tp90');
  for (const [name, op] of Object.entries(ops)) {
    for (const gap of GAPS_US) console.log(`${name}\t${gap}\t${timedAfter(() => busyWait(gap), op).map((v) => v.toFixed(3)).join('\t')}`);
  }
  if (!hasOneDnn() || !splitConvs()) {
    console.log("no switch between thread pools to time: this backend has no oneDNN kernels or no split convolutions");
    return;
  }
  // oneDNN's kernels run on TF's threads, the split convolutions on ours; after a switch the other pool's thread has likely gone to sleep
  const padded = Array.from({ length: 6 }, () => tf.randomNormal([1, 34, 34, 128]) as tf.Tensor4D);
  const switching: Record<string, (i: number) => tf.Tensor> = {
    "oneDNN's weight gradient 1x34x34x128 -> 1x32x32x128, 3x3 (TF's threads)": (i) => FILTER_GRADS.oneDnn(padded[i % 6], xs[i % 6], [3, 3, 128, 128], 1),
    'the conv2d above (split over ours)': ops['conv2d 1x32x32x128, 3x3x128x128, pad 2'],
  };
  console.log('op\tright after\tmedian ms\tp10\tp90');
  for (const [name, op] of Object.entries(switching)) {
    for (const [beforeName, before] of Object.entries(switching)) console.log(`${name}\t${before === op ? 'itself' : beforeName}\t${timedAfter((i) => before(i).dispose(), op).map((v) => v.toFixed(3)).join('\t')}`);
  }
})();
