// How a training step's wall time splits between TensorFlow's calls and the
// JavaScript between them (tfjs's engine and tape, our layers), timed only at
// tfjs-node's binding: bench/profile.ts's per-kernel hooks add their own cost
// to both. The gaps are listed by length, each with the time of the calls
// that follow them (a call after a long gap wakes an idle core: bench/idleGap.ts).
//   node --import tsx bench/gaps.ts cyclegan resnet_6blocks 32 128
import { initBackend } from '../server/backend';
import type { TrainRequest } from '../server/options/options';
import { interceptExecuteOp } from './binding';
import { stepTrainer } from './stepTrainer';

const BANDS_MS = [0, 0.05, 0.1, 0.3, 1, 3, Infinity];
const STEPS = 3;

const [model, netG, ngf, side] = [process.argv[2] as TrainRequest['model'], process.argv[3] as TrainRequest['netG'], Number(process.argv[4]), Number(process.argv[5])];
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

(async () => {
  const info = await initBackend();
  const gaps: number[] = [];
  const calls: number[] = [];
  let on = false;
  let lastEnd = 0;
  const intercepted = interceptExecuteOp((executeOp, name, ...rest) => {
    if (!on) return executeOp(name, ...rest);
    const start = performance.now();
    const result = executeOp(name, ...rest);
    const end = performance.now();
    gaps.push(start - lastEnd);
    calls.push(end - start);
    lastEnd = end;
    return result;
  });
  if (!intercepted) {
    console.error(`bench/gaps.ts times tfjs-node's binding; the backend is ${info.name}`);
    process.exitCode = 1;
    return;
  }

  const step = stepTrainer(model, netG, ngf, side);
  for (let i = 0; i < 3; i++) step();
  const t = performance.now();
  on = true;
  lastEnd = t;
  for (let i = 0; i < STEPS; i++) step();
  on = false;
  const wall = (performance.now() - t) / STEPS;
  const perStep = (ms: number) => (ms / STEPS).toFixed(1);
  console.log(`backend: ${info.name} (native kernels: ${info.nativeKernels})`);
  console.log(`wall ${wall.toFixed(0)} ms/step: ${perStep(sum(calls))} ms in ${calls.length / STEPS} TF calls, ${perStep(sum(gaps))} ms between them`);
  console.log('gap ms\tper step\tgaps ms\tcalls after them ms');
  for (let b = 0; b + 1 < BANDS_MS.length; b++) {
    const band = gaps.flatMap((g, i) => (g >= BANDS_MS[b] && g < BANDS_MS[b + 1] ? [i] : []));
    console.log(`${BANDS_MS[b]}-${BANDS_MS[b + 1]}\t${(band.length / STEPS).toFixed(0)}\t${perStep(sum(band.map((i) => gaps[i])))}\t${perStep(sum(band.map((i) => calls[i])))}`);
  }
})();
