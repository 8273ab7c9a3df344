// Soak: a Preview CycleGAN training for N minutes, sampling RSS and the tfjs
// tensor count every ~10 s into a CSV, then printing the least-squares slope
// of each over the second half (after warm-up). A script, not a test: memory
// that grows shows as a positive slope; the figures go in the README.
//   node --import tsx bench/soak.ts [--minutes 30] [--dataset ../shared/datasets/horse2zebra-mini] [--out soak.csv] [--backend tensorflow|wasm|cpu]
import * as tf from '@tensorflow/tfjs-core';
// Native TensorFlow's start-up chatter would bury the samples.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendName } from '../protocol/server';
import { startTraining } from '../server/train/session';

interface Sample {
  seconds: number;
  step: number;
  rssMiB: number;
  numTensors: number;
  numBytesMiB: number;
}

function parseArgs(argv: string[]): { minutes: number; dataset: string; out: string; backend?: BackendName; interval: number } {
  const args = { minutes: 30, dataset: path.resolve(__dirname, '../../shared/datasets/horse2zebra-mini'), out: 'soak.csv', backend: undefined as BackendName | undefined, interval: 10 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--minutes') args.minutes = Number(v);
    else if (a === '--dataset') args.dataset = path.resolve(v);
    else if (a === '--out') args.out = path.resolve(v);
    else if (a === '--backend') args.backend = v as BackendName;
    else if (a === '--interval') args.interval = Number(v);
    else throw new Error(`unknown argument ${a} (use --minutes N --dataset dir --out file.csv --backend name --interval seconds)`);
  }
  if (!(args.minutes > 0) || !(args.interval > 0)) throw new Error('--minutes and --interval must be positive numbers');
  return args;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-soak-'));
  const samples: Sample[] = [];
  const started = performance.now();
  const deadline = started + args.minutes * 60_000;
  let step = 0;
  let backendName = '';
  const sample = (): void => {
    const m = tf.memory();
    samples.push({ seconds: (performance.now() - started) / 1000, step, rssMiB: process.memoryUsage().rss / 2 ** 20, numTensors: m.numTensors, numBytesMiB: m.numBytes / 2 ** 20 });
    const s = samples[samples.length - 1];
    process.stdout.write(`${s.seconds.toFixed(0)} s  step ${s.step}  rss ${s.rssMiB.toFixed(1)} MiB  tensors ${s.numTensors}  tensor bytes ${s.numBytesMiB.toFixed(1)} MiB\n`);
  };
  const timer = setInterval(sample, args.interval * 1000);
  try {
    await startTraining(
      // Preview preset, with a length no soak reaches: the deadline stops it.
      { dataroot: args.dataset, model: 'cyclegan', preset: 'preview', iterations: 10_000_000, run: runDir, backend: args.backend },
      {
        onStart: ({ backend, options }) => {
          backendName = backend.name;
          process.stdout.write(`soak: ${options.model} ${options.netG} ngf ${options.ngf} ${options.crop_size} px, backend ${backend.name}, ${args.minutes} min, run ${runDir}\n`);
        },
        onStep: (r) => {
          step = r.step;
        },
        isCancelled: () => performance.now() > deadline,
      },
    );
  } finally {
    clearInterval(timer);
  }
  const after = tf.memory().numTensors;
  if (samples.length < 2) throw new Error(`only ${samples.length} samples: run longer than two intervals`);
  const header = 'seconds,step,rss_mib,num_tensors,tensor_mib';
  const rows = samples.map((s) => [s.seconds.toFixed(1), s.step, s.rssMiB.toFixed(2), s.numTensors, s.numBytesMiB.toFixed(2)].join(','));
  await fs.writeFile(args.out, [header, ...rows].join('\n') + '\n');
  // Warm-up (first pool fills, allocator growth) is excluded: slopes over the second half.
  const tail = samples.slice(Math.floor(samples.length / 2));
  const minutes = tail.map((s) => s.seconds / 60);
  const rss = tail.map((s) => s.rssMiB);
  const first = samples[0];
  const last = samples[samples.length - 1];
  process.stdout.write(
    `\nbackend ${backendName}, ${last.step} steps in ${(last.seconds / 60).toFixed(1)} min (${(last.seconds / Math.max(1, last.step)).toFixed(2)} s/step), ${samples.length} samples → ${args.out}\n` +
      `RSS: first ${first.rssMiB.toFixed(1)} MiB, last ${last.rssMiB.toFixed(1)} MiB, max ${Math.max(...samples.map((s) => s.rssMiB)).toFixed(1)} MiB; ` +
      `slope over the second half ${slope(minutes, rss).toFixed(2)} MiB/min\n` +
      `tensors: first ${first.numTensors}, last ${last.numTensors}, min ${Math.min(...samples.map((s) => s.numTensors))}, max ${Math.max(...samples.map((s) => s.numTensors))}; ` +
      `slope over the second half ${slope(minutes, tail.map((s) => s.numTensors)).toFixed(3)} tensors/min; ${after} left after the run\n`,
  );
  await fs.rm(runDir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`soak: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
