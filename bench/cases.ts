// The benchmark cases, each run in its own child process (bench/run.ts) so its
// peak RSS is its own. Training cases drive the real trainers of server/train,
// translation cases the real translate engine on generated JPEGs and a .pth of
// official-init weights; inputs are seeded so every run does the same work.
import * as tf from '@tensorflow/tfjs-core';
import { fork } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { IPCMessageReader, IPCMessageWriter, createProtocolConnection, InitializeRequest } from 'vscode-languageserver-protocol/node';
import { type BackendInfo, StatusRequest } from '../protocol/server';
import { initBackend } from '../server/backend';
import { writePth } from '../server/io/pth';
import { loadGenerator } from '../server/models/loadModel';
import { Generator } from '../server/models/network';
import type { GeneratorSpec } from '../server/models/spec';
import { runTranslation } from '../server/translate/pipeline';
import { benchTrainer } from './stepTrainer';

export interface CaseResult {
  seconds_per_iteration?: number;
  images_per_second?: number;
  /** Training: process CPU time per iteration, all threads. */
  cpu_seconds_per_iteration?: number;
  gflop_per_second?: number;
  /** Every timed sample (seconds per iteration / images per second / seconds to answer). */
  samples: number[];
  backend?: string;
  note?: string;
}

/** The backend, and on tfjs-node whether our native kernels ran. */
function label(b: BackendInfo): string {
  return b.nativeKernels ? `${b.name} (native kernels: ${b.nativeKernels})` : b.name;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One optimize_parameters() of the real trainer, batch 1, official defaults apart from the named sizes. */
export interface TrainCase {
  model: 'cyclegan' | 'pix2pix';
  netG: GeneratorSpec['netG'];
  ngf: number;
  side: number;
  warmup: number;
  runs: number;
}

export const TRAIN_CASES: Record<string, TrainCase> = {
  cg_r6_ngf32_64: { model: 'cyclegan', netG: 'resnet_6blocks', ngf: 32, side: 64, warmup: 3, runs: 10 },
  cg_r6_ngf32_128: { model: 'cyclegan', netG: 'resnet_6blocks', ngf: 32, side: 128, warmup: 3, runs: 10 },
  cg_r9_ngf64_256: { model: 'cyclegan', netG: 'resnet_9blocks', ngf: 64, side: 256, warmup: 1, runs: 3 },
  p2p_unet256_256: { model: 'pix2pix', netG: 'unet_256', ngf: 64, side: 256, warmup: 3, runs: 10 },
};

/** Generator of a translation case: the official CycleGAN default, and pix2pix's (BatchNorm, dropout, train mode as test.py). */
export interface InferCase {
  spec: GeneratorSpec;
  images: number;
  runs: number;
}

export const INFER_CASES: Record<string, InferCase> = {
  inf_r9_ngf64_256: { spec: { netG: 'resnet_9blocks', ngf: 64, norm: 'instance', inputNc: 3, outputNc: 3, useDropout: false }, images: 8, runs: 3 },
  inf_unet256_256: { spec: { netG: 'unet_256', ngf: 64, norm: 'batch', inputNc: 3, outputNc: 3, useDropout: true }, images: 24, runs: 5 },
};

/** The real trainer on two seeded image pairs, alternating; each call times one step (s) and its CPU time (s, all threads). */
export async function trainStepper(c: TrainCase): Promise<{ step(): { seconds: number; cpu: number }; backend: string }> {
  const backend = await initBackend();
  // the run seed's default (0) for the image pool's stream, as a run would have
  const { trainer, lr } = benchTrainer(c.model, c.netG, c.ngf, c.side, 0);
  const shape: [number, number, number, number] = [1, c.side, c.side, 3];
  const pairs = [0, 1].map((i) => [tf.randomUniform(shape, -1, 1, 'float32', 2 * i + 1), tf.randomUniform(shape, -1, 1, 'float32', 2 * i + 2)] as tf.Tensor4D[]);
  let i = 0;
  const step = () => {
    const [a, b] = pairs[i++ % 2];
    const t = performance.now();
    const u = process.cpuUsage();
    trainer.step(a, b, lr);
    const used = process.cpuUsage(u);
    return { seconds: (performance.now() - t) / 1000, cpu: (used.user + used.system) / 1e6 };
  };
  return { step, backend: label(backend) };
}

async function trainCase(c: TrainCase): Promise<CaseResult> {
  const { step, backend } = await trainStepper(c);
  for (let i = 0; i < c.warmup; i++) step();
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < c.runs; i++) {
    const r = step();
    samples.push(r.seconds);
    cpu.push(r.cpu);
  }
  // CPU seconds (all threads) tell variants apart on a loaded machine, where wall time does not
  return { seconds_per_iteration: median(samples), cpu_seconds_per_iteration: median(cpu), samples, backend };
}

/** 256x256 JPEGs of smooth random colour fields, like the scan bench's. */
async function makeJpegs(dir: string, count: number, side: number): Promise<void> {
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
  await fs.mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const cells = Buffer.alloc(8 * 8 * 3);
    for (let k = 0; k < cells.length; k++) cells[k] = rand() * 256;
    await sharp(cells, { raw: { width: 8, height: 8, channels: 3 } }).resize(side, side, { kernel: 'cubic' }).jpeg({ quality: 90 }).toFile(path.join(dir, `${String(i).padStart(4, '0')}.jpg`));
  }
}

/**
 * The translate engine on a folder of c.images generated JPEGs with official-init
 * weights, warmed up on a full batch; each run() translates the folder and
 * gives images/s. dispose() removes the folders.
 */
export async function inferRunner(c: InferCase): Promise<{ run(): Promise<number>; dispose(): Promise<void>; backend: string }> {
  const backend = await initBackend();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-bench-translate-'));
  const input = path.join(root, 'in');
  const warm = path.join(root, 'warm');
  await makeJpegs(input, c.images, 256);
  // a full batch (8 for U-Net): the timed runs then meet no batch shape for the first time
  const warmCount = 8;
  await makeJpegs(warm, warmCount, 256);
  const pth = path.join(root, 'net_G.pth');
  const init = Generator.init(c.spec, 1);
  await writePth(pth, init.stateDict());
  init.dispose();
  const { summary, generator } = await loadGenerator(pth, 'AtoB');
  const hooks = { onProgress: () => undefined, isCancelled: () => false };
  let k = 0;
  const run = async (inputs: string) => {
    const t = performance.now();
    const r = await runTranslation(generator, summary, { inputs: [inputs], direction: 'AtoB', outDir: path.join(root, `out${k++}`), eval: false, keepSize: false }, hooks);
    if (r.translated.length !== (inputs === warm ? warmCount : c.images)) throw new Error(`translated ${r.translated.length} images: ${JSON.stringify(r.unreadable)}`);
    return r.translated.length / ((performance.now() - t) / 1000);
  };
  await run(warm);
  return {
    run: () => run(input),
    dispose: async () => {
      generator.dispose();
      await fs.rm(root, { recursive: true, force: true });
    },
    backend: label(backend),
  };
}

async function inferCase(c: InferCase): Promise<CaseResult> {
  const runner = await inferRunner(c);
  try {
    const samples: number[] = [];
    for (let k = 0; k < c.runs; k++) samples.push(await runner.run());
    return { images_per_second: median(samples), samples, backend: runner.backend };
  } finally {
    await runner.dispose();
  }
}

/** A large matMul on the same backend: the rate the FLOP counts are compared with. */
async function matmulCase(): Promise<CaseResult> {
  const backend = await initBackend();
  const n = 2048;
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  const samples: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t = performance.now();
    tf.tidy(() => tf.sum(tf.matMul(a, b)).dataSync());
    if (i >= 2) samples.push((2 * n ** 3) / ((performance.now() - t) / 1000) / 1e9);
  }
  return { gflop_per_second: median(samples), samples, backend: label(backend), note: `${n}x${n} float32 matMul` };
}

/** dist/server.js over IPC as the LanguageClient starts it; time from spawn to the first StatusRequest answer. */
async function serverStartOnce(serverJs: string): Promise<{ seconds: number; rssMb: number; backend: string }> {
  const t = performance.now();
  const child = fork(serverJs, ['--node-ipc', `--clientProcessId=${process.pid}`], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const conn = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  conn.listen();
  try {
    await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} });
    await conn.sendNotification('initialized', {});
    const status = await conn.sendRequest(StatusRequest);
    const seconds = (performance.now() - t) / 1000;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => ''));
    return { seconds, rssMb: hwm ? Number(hwm[1]) / 1024 : NaN, backend: status.backend.name };
  } finally {
    conn.dispose();
    child.kill();
  }
}

async function serverStartCase(): Promise<CaseResult & { peak_rss_mb: number }> {
  const serverJs = path.resolve(__dirname, '../dist/server.js');
  if (!existsSync(serverJs)) throw new Error(`${serverJs} is missing: run npm run build first`);
  await serverStartOnce(serverJs); // file cache warm-up
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await serverStartOnce(serverJs));
  return { samples: runs.map((r) => r.seconds), seconds_per_iteration: median(runs.map((r) => r.seconds)), backend: runs[0].backend, peak_rss_mb: Math.max(...runs.map((r) => r.rssMb)), note: 'seconds from spawn to the first StatusRequest answer (server process peak RSS)' };
}

/** helper-6's bench/scan.ts, imported in this process; its printed rate is the figure. */
async function scanCase(): Promise<CaseResult> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(args.join(' '));
    log(...args);
  };
  process.argv[2] = process.env.BENCH_SCAN_COUNT ?? '10000';
  await import('./scan');
  await new Promise<void>((resolve) => process.once('beforeExit', () => resolve()));
  console.log = log;
  const m = lines.map((l) => /scan \(all checks\):\s+([\d.]+) images\/s/.exec(l)).find(Boolean);
  if (!m) throw new Error(`bench/scan.ts printed no scan rate:\n${lines.join('\n')}`);
  return { images_per_second: Number(m[1]), samples: [Number(m[1])], note: `${process.argv[2]} generated 256x256 JPEGs, one scan` };
}

export async function runCase(name: string): Promise<CaseResult & { peak_rss_mb?: number }> {
  if (name in TRAIN_CASES) return trainCase(TRAIN_CASES[name]);
  if (name in INFER_CASES) return inferCase(INFER_CASES[name]);
  if (name === 'matmul') return matmulCase();
  if (name === 'server_start') return serverStartCase();
  if (name === 'scan_10k') return scanCase();
  throw new Error(`unknown case ${name}`);
}

export const ALL_CASES = [...Object.keys(TRAIN_CASES), ...Object.keys(INFER_CASES), 'scan_10k', 'server_start'];
