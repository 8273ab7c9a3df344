// Where a training step's time goes: wall time per kernel (tfjs-node runs
// kernels synchronously, so a kernel's wall time is its cost), summed by kernel
// name, or by name and input shapes with BYSHAPE=1. Ops run directly through
// tfjs-node's binding outside any kernel (the fused Adam) are listed as
// "native <op>"; wall minus all of these is the JavaScript between them.
// "cores" is CPU time over wall time per kernel; CHOICES=1 also lists the
// gradient formulation fastest() chose for each convolution shape.
//   node --import tsx bench/profile.ts cyclegan resnet_6blocks 32 64
//   BYSHAPE=1 TOP=40 node --import tsx bench/profile.ts pix2pix unet_256 64 256
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../server/backend';
import { fastestChoices } from '../server/models/layers/fastest';
import { interceptExecuteOp } from './binding';
import { stepTrainer } from './stepTrainer';
import type { TrainRequest } from '../server/options/options';

type KernelArgs = { inputs: Record<string, tf.TensorInfo | undefined>; attrs?: { strides?: unknown } };
type KernelFn = (args: KernelArgs) => unknown;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Multiply-adds ×2 of the convolution and matMul kernels, to show how close each runs to the machine's rate. */
function convGflop(kernel: string, args: KernelArgs, result: unknown): number {
  const inputs = Object.values(args.inputs).map((t) => t?.shape ?? []);
  const out = Array.isArray(result) ? [] : ((result as tf.TensorInfo | undefined)?.shape ?? []);
  if (kernel === 'Conv2D') return (2 * size(out) * size(inputs[1].slice(0, 3))) / 1e9;
  if (kernel === 'Conv2DBackpropInput') return (2 * size(inputs[0]) * size(inputs[1].slice(0, 3))) / 1e9;
  if (kernel === 'Conv2DBackpropFilter') return (2 * size(inputs[1]) * size(out.slice(0, 3))) / 1e9;
  if (kernel === 'BatchMatMul') return (2 * size(out) * Math.sqrt((size(inputs[0]) * size(inputs[1])) / (size(out) * (inputs[0].length > 2 ? inputs[0][0] : 1)))) / 1e9;
  return 0;
}

const [model, netG, ngf, side] = [process.argv[2] as TrainRequest['model'], process.argv[3] as TrainRequest['netG'], Number(process.argv[4]), Number(process.argv[5])];
(async () => {
  await initBackend();
  const stats = new Map<string, { n: number; ms: number; cpu: number; gflop: number }>();
  let on = false;
  let inKernel = false;
  const cpuMs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  const add = (key: string, ms: number, cpu: number, gflop = 0) => {
    const s = stats.get(key) ?? { n: 0, ms: 0, cpu: 0, gflop: 0 };
    s.n++;
    s.ms += ms;
    s.cpu += cpu;
    s.gflop += gflop;
    stats.set(key, s);
  };
  interceptExecuteOp((executeOp, name, ...rest) => {
    if (!on || inKernel) return executeOp(name, ...rest);
    const [t, c] = [performance.now(), cpuMs()];
    const r = executeOp(name, ...rest);
    add(`native ${name}`, performance.now() - t, cpuMs() - c);
    return r;
  });
  for (const k of tf.getKernelsForBackend(tf.getBackend())) {
    const f = k.kernelFunc as unknown as KernelFn;
    (k as unknown as { kernelFunc: KernelFn }).kernelFunc = (args) => {
      if (!on || inKernel) return f(args);
      const [t, c] = [performance.now(), cpuMs()];
      inKernel = true;
      let r: unknown;
      try {
        r = f(args);
      } finally {
        inKernel = false;
      }
      const [dt, dc] = [performance.now() - t, cpuMs() - c];
      const shapes = Object.values(args.inputs).map((x) => x?.shape.join('x')).join(',');
      const key = process.env.BYSHAPE ? `${k.kernelName} ${shapes} ${JSON.stringify(args.attrs?.strides ?? '')}` : k.kernelName;
      add(key, dt, dc, convGflop(k.kernelName, args, r));
      return r;
    };
  }
  const step = stepTrainer(model, netG, ngf, side);
  for (let i = 0; i < 3; i++) step();
  const N = 3;
  on = true;
  const t = performance.now();
  const u = process.cpuUsage();
  for (let i = 0; i < N; i++) step();
  const wall = (performance.now() - t) / N;
  const cpu = process.cpuUsage(u);
  on = false;
  let total = 0, totalCpu = 0, count = 0;
  for (const s of stats.values()) { total += s.ms; totalCpu += s.cpu; count += s.n; }
  console.log(`wall ${wall.toFixed(0)} ms/step, cpu ${((cpu.user + cpu.system) / 1000 / N).toFixed(0)} ms/step, kernels and native ops ${(total / N).toFixed(0)} ms (cpu ${(totalCpu / N).toFixed(0)} ms) in ${count / N} calls`);
  const rows = [...stats].sort((x, y) => y[1].ms - x[1].ms).slice(0, Number(process.env.TOP ?? 30));
  if (process.env.CHOICES) for (const [k, c] of fastestChoices()) console.log(`chosen ${c.padEnd(12)} ${k}`);
  for (const [k, s] of rows) console.log(`${(s.ms / N).toFixed(1).padStart(8)} ms ${(s.cpu / s.ms).toFixed(1).padStart(4)} cores ${String(s.n / N).padStart(6)}x ${s.gflop ? `${(s.gflop / (s.ms / 1000)).toFixed(0).padStart(4)} GFLOP/s` : '             '}  ${k}`);
})();
