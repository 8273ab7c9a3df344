// A paired A/B of one training step within one process: steps alternate
// between two values of an environment variable the server reads at each call
// (DOMAIN_TRANSLATOR_SPLIT_CONVS), on one trainer and the same inputs. This
// VM's speed drifts 10-30% from minute to minute; alternating steps put both
// sides in the same minute, where separate runs compare two minutes.
//   node --import tsx bench/ab.ts cyclegan resnet_6blocks 32 64 [pairs] [VAR A B]
// "unset" as a value deletes the variable. VAR POOL_SPIN compares how the
// native pool's idle workers wait, as "microseconds,yields": POOL_SPIN 400,0 3000,1.
import { initBackend } from '../server/backend';
import { setPoolSpin } from '../server/models/layers/nativeKernels';
import type { TrainRequest } from '../server/options/options';
import { stepTrainer } from './stepTrainer';

const [model, netG, ngf, side] = [process.argv[2] as TrainRequest['model'], process.argv[3] as TrainRequest['netG'], Number(process.argv[4]), Number(process.argv[5])];
const pairs = Number(process.argv[6] ?? 20);
const [name, a, b] = [process.argv[7] ?? 'DOMAIN_TRANSLATOR_SPLIT_CONVS', process.argv[8] ?? '1', process.argv[9] ?? '0'];

const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];

(async () => {
  const backend = await initBackend();
  const trainStep = stepTrainer(model, netG, ngf, side);
  const step = (value: string) => {
    if (name === 'POOL_SPIN') {
      const [micros, yields] = value.split(',').map(Number);
      if (!setPoolSpin(micros, yields === 1)) throw new Error('POOL_SPIN needs the native kernels (npm run build)');
    } else if (value === 'unset') delete process.env[name];
    else process.env[name] = value;
    const t = performance.now();
    trainStep();
    return performance.now() - t;
  };
  for (let i = 0; i < 3; i++) [a, b].forEach(step);
  const ta: number[] = [];
  const tb: number[] = [];
  // which side goes first alternates too
  for (let i = 0; i < pairs; i++) {
    if (i % 2) {
      tb.push(step(b));
      ta.push(step(a));
    } else {
      ta.push(step(a));
      tb.push(step(b));
    }
  }
  const wins = ta.filter((v, i) => v < tb[i]).length;
  console.log(`${model} ${netG} ngf ${ngf} ${side} px on ${backend.name}, ${pairs} pairs`);
  console.log(`${name}=${a}: median ${median(ta).toFixed(1)} ms; ${name}=${b}: median ${median(tb).toFixed(1)} ms; ratio ${(median(ta) / median(tb)).toFixed(3)}; ${a} faster in ${wins} of ${pairs}`);
})();
