// One training run in a run folder: options.json, log.jsonl, samples/,
// checkpoints/. The loop asks the loader for batch k (decoded ahead), runs the
// trainer's optimize_parameters(), logs, samples and checkpoints on its
// cadence, and can be resumed exactly from its latest complete checkpoint.
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { openTrainDataset, type TrainDataset } from '../data/datasets';
import { Loader } from '../data/loader';
import { Discriminator, Generator } from '../models/network';
import type { DiscriminatorSpec, GeneratorSpec } from '../models/spec';
import { learningRate, type TrainOptions } from '../options/options';
import { findCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint';
import { CycleGanTrainer, type Losses } from './cycleGan';
import { exportRun } from './export';
import { initNets, netNames, specOf, type Net, type NetName } from './nets';
import { Pix2PixTrainer } from './pix2pix';
import { Rng } from './rng';
import { writeStrip } from './samples';

/** One line of log.jsonl. */
export interface StepRecord {
  /** Optimisation steps done so far (1-based count). */
  step: number;
  epoch: number;
  lr: number;
  /** Mean wall time per step since the previous record (data waits included). */
  seconds_per_iteration: number;
  /** By official loss name: D_A, G_A, cycle_A, idt_A, … or G_GAN, G_L1, D_real, D_fake. */
  losses: Losses;
}

export interface TrainHooks {
  onStep?(record: StepRecord): void;
  onSample?(file: string, step: number): void;
  onCheckpoint?(dir: string, step: number): void;
  /** Checked after every step; when true the run saves a checkpoint and stops. */
  isCancelled?(): boolean;
}

export interface RunResult {
  runDir: string;
  /** Steps done when the run stopped. */
  step: number;
  iterations: number;
  cancelled: boolean;
  /** Step the run started from (0, or the checkpoint it resumed). */
  startStep: number;
  /** Latest record written, if any. */
  last?: StepRecord;
  /** The generators exported from the final checkpoint (<run>/export). */
  exportDir: string;
}

/**
 * A loss or a weight became NaN or Inf: the run stops without saving, so the
 * last checkpoint written (all finite) stays the latest.
 */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

/** First non-finite value among a checkpoint's weights and optimizer moments, named. */
function firstNonFinite(state: CheckpointState): string | undefined {
  const find = (data: Float32Array): number | undefined => data.find((v) => !Number.isFinite(v));
  for (const [net, sd] of state.nets) {
    for (const [key, t] of sd) {
      const v = find(t.data);
      if (v !== undefined) return `weight ${net}.${key} is ${v}`;
    }
  }
  for (const [opt, st] of state.optimizers) {
    for (const [kind, moments] of [['exp_avg', st.expAvg], ['exp_avg_sq', st.expAvgSq]] as const) {
      for (const [key, data] of moments) {
        const v = find(data);
        if (v !== undefined) return `Adam moment ${kind} of ${key} (optimizer ${opt}) is ${v}`;
      }
    }
  }
  return undefined;
}

/**
 * What log.jsonl guarantees after a kill: when a run starts or resumes, the
 * log is cut back to the records of the steps its checkpoint holds (step <=
 * startStep); records written after that checkpoint, and a line half-written
 * by a kill, are dropped, because those steps are trained again. So the log
 * has each step once, in order, with the losses of the weights that continue.
 */
async function trimLog(file: string, startStep: number): Promise<void> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const kept = text.split('\n').filter((line) => {
    try {
      return (JSON.parse(line) as StepRecord).step <= startStep;
    } catch {
      return false;
    }
  });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, kept.map((l) => l + '\n').join(''));
  await fs.rename(tmp, file);
}

export const OPTIONS_FILE = 'options.json';
const TRAIN_STREAM = 0x7a1;
const PROBES = 2;

type Trainer = CycleGanTrainer | Pix2PixTrainer;

function nhwc(data: Float32Array, shape: [number, number, number, number]): tf.Tensor4D {
  return tf.tensor4d(data, shape);
}

function netFromState(o: TrainOptions, name: NetName, st: CheckpointState, dir: string): Net {
  const sd = st.nets.get(name);
  if (!sd) throw new Error(`${dir}: checkpoint has no ${name}`);
  const spec = specOf(o, name);
  const file = path.join(dir, `latest_net_${name}.pth`);
  return 'netG' in spec ? Generator.fromStateDict(sd, spec as GeneratorSpec, file) : Discriminator.fromStateDict(sd, spec as DiscriminatorSpec, file);
}

function makeTrainer(o: TrainOptions, nets: Map<NetName, Net>, rng: Rng): Trainer {
  return o.model === 'cyclegan' ? new CycleGanTrainer(o, nets, rng) : new Pix2PixTrainer(o, nets, rng);
}

async function snapshot(trainer: Trainer, step: number, epoch: number, rng: Rng): Promise<{ state: CheckpointState; shapes: Map<string, number[]> }> {
  const nets = new Map([...trainer.nets].map(([n, net]) => [n as string, net.stateDict()]));
  const optimizers = new Map([
    ['G', await trainer.optimizerG.getState()],
    ['D', await trainer.optimizerD.getState()],
  ]);
  const shapes = new Map<string, number[]>();
  for (const opt of [trainer.optimizerG, trainer.optimizerD]) for (const [k, v] of opt.params) shapes.set(k, v.shape);
  const pools = new Map<string, Awaited<ReturnType<CycleGanTrainer['pools']['fake_A']['getState']>>>();
  if (trainer instanceof CycleGanTrainer) {
    pools.set('fake_A', await trainer.pools.fake_A.getState());
    pools.set('fake_B', await trainer.pools.fake_B.getState());
  }
  return { state: { step, epoch, rng: rng.state, nets, optimizers, pools }, shapes };
}

/** Fixed probe images for the sample strips: the same items every time, without flips. */
async function loadProbes(dataset: TrainDataset, o: TrainOptions): Promise<{ A: tf.Tensor4D; B: tf.Tensor4D }[]> {
  const out = [];
  for (let i = 0; i < Math.min(PROBES, dataset.size); i++) {
    const index = Math.floor((i * dataset.size) / PROBES);
    const s = await dataset.load(index, Rng.from(o.seed, 0x9b0be, i));
    out.push({ A: tf.keep(nhwc(s.A.data, [1, s.A.height, s.A.width, 3])), B: tf.keep(nhwc(s.B.data, [1, s.B.height, s.B.width, 3])) });
  }
  return out;
}

async function writeSamples(trainer: Trainer, probes: { A: tf.Tensor4D; B: tf.Tensor4D }[], file: string): Promise<void> {
  const rows: tf.Tensor4D[][] = [];
  for (const p of probes) {
    if (trainer instanceof CycleGanTrainer) {
      rows.push(trainer.sample(p.A, 'A'));
      if (p.B.shape[1] === p.A.shape[1] && p.B.shape[2] === p.A.shape[2]) rows.push(trainer.sample(p.B, 'B'));
    } else rows.push(trainer.sample(p.A, p.B));
  }
  try {
    await writeStrip(file, rows);
  } finally {
    tf.dispose(rows.flat());
  }
}

export async function readRunOptions(runDir: string): Promise<TrainOptions | undefined> {
  const text = await fs.readFile(path.join(runDir, OPTIONS_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as TrainOptions);
}

/**
 * Train `o.iterations` steps in total into `runDir`. With `resume`, continue
 * from the most advanced complete checkpoint there (an error when there is none).
 */
export async function runTraining(o: TrainOptions, runDir: string, hooks: TrainHooks = {}, resume = false): Promise<RunResult> {
  await fs.mkdir(runDir, { recursive: true });
  const checkpointsDir = path.join(runDir, 'checkpoints');
  const dataset = await openTrainDataset(o.dataroot, o, o.model);
  const loader = new Loader(dataset, o);

  let rng = Rng.from(o.seed, TRAIN_STREAM);
  let nets: Map<NetName, Net>;
  let startStep = 0;
  let loaded: CheckpointState | undefined;
  if (resume) {
    const found = await findCheckpoint(checkpointsDir);
    if (!found) throw new Error(`${runDir}: no complete checkpoint to resume from`);
    loaded = await loadCheckpoint(found.dir);
    rng = new Rng(loaded.rng);
    nets = new Map(netNames(o.model).map((n) => [n, netFromState(o, n, loaded!, found.dir)]));
    startStep = loaded.step;
  } else {
    nets = initNets(o);
  }
  const trainer = makeTrainer(o, nets, rng);
  if (loaded) {
    trainer.optimizerG.setState(loaded.optimizers.get('G')!);
    trainer.optimizerD.setState(loaded.optimizers.get('D')!);
    if (trainer instanceof CycleGanTrainer) {
      trainer.pools.fake_A.setState(loaded.pools.get('fake_A') ?? { images: [] });
      trainer.pools.fake_B.setState(loaded.pools.get('fake_B') ?? { images: [] });
    }
  }
  // temp + rename: a kill mid-write must not leave a half options.json that blocks resume
  const optionsTmp = path.join(runDir, `${OPTIONS_FILE}.${process.pid}.tmp`);
  await fs.writeFile(optionsTmp, JSON.stringify(o, null, 2) + '\n');
  await fs.rename(optionsTmp, path.join(runDir, OPTIONS_FILE));
  const probes = await loadProbes(dataset, o);
  const logFile = path.join(runDir, 'log.jsonl');
  await trimLog(logFile, startStep);

  let step = startStep;
  let epoch = startStep === 0 ? 1 : loader.indices(startStep - 1).epoch;
  let cancelled = false;
  let last: StepRecord | undefined;
  let since = performance.now();
  let stepsSince = 0;
  let savedStep: number | undefined = loaded ? startStep : undefined;
  const diverged = (what: string): TrainingDivergedError =>
    new TrainingDivergedError(
      `${what} at step ${step}: training stopped (lower lr in the run's options.json, or check the data). ` +
        (savedStep === undefined ? 'No checkpoint had been saved yet.' : `The last good checkpoint (step ${savedStep}) is kept in checkpoints/; resume continues from it.`),
    );
  const save = async (): Promise<void> => {
    const { state, shapes } = await snapshot(trainer, step, epoch, rng);
    const bad = firstNonFinite(state);
    if (bad) throw diverged(bad);
    const keep = o.keep_every > 0 && step % o.keep_every === 0;
    const dir = await saveCheckpoint(checkpointsDir, state, keep, { momentShapes: shapes });
    savedStep = step;
    hooks.onCheckpoint?.(dir, step);
  };
  try {
    while (step < o.iterations) {
      const batch = await loader.get(step);
      epoch = batch.epoch;
      const lr = learningRate(o, epoch);
      const a = nhwc(batch.A, batch.shapeA);
      const b = nhwc(batch.B, batch.shapeB);
      let losses: Losses;
      try {
        losses = trainer.step(a, b, lr);
      } finally {
        tf.dispose([a, b]);
      }
      step += 1;
      stepsSince += 1;
      const badLoss = Object.entries(losses).find(([, v]) => !Number.isFinite(v));
      if (badLoss) throw diverged(`loss ${badLoss[0]} is ${badLoss[1]}`);
      cancelled = hooks.isCancelled?.() ?? false;
      const final = step === o.iterations || cancelled;
      if (step % o.print_every === 0 || final) {
        const now = performance.now();
        last = { step, epoch, lr, seconds_per_iteration: (now - since) / 1000 / stepsSince, losses };
        since = now;
        stepsSince = 0;
        await fs.appendFile(logFile, JSON.stringify(last) + '\n');
        hooks.onStep?.(last);
      }
      if (step % o.sample_every === 0 || final) {
        const file = path.join(runDir, 'samples', `step-${String(step).padStart(7, '0')}.png`);
        await writeSamples(trainer, probes, file);
        hooks.onSample?.(file, step);
      }
      if (step % o.save_every === 0 || final) await save();
      if (cancelled) break;
    }
  } finally {
    tf.dispose(probes.flatMap((p) => [p.A, p.B]));
    trainer.dispose();
    for (const n of nets.values()) n.dispose();
  }
  const exported = await exportRun(runDir);
  return { runDir, step, iterations: o.iterations, cancelled, startStep, last, exportDir: exported.dir };
}
