// Checkpoints of a run: networks as official .pth (latest_net_G_A.pth …, what
// the official code and our loaders read), optimizer moments, image pools,
// RNG state and step. A checkpoint is a folder written whole into a temporary
// sibling and renamed into place; manifest.json (sizes and SHA-256 of every
// file) is written last, and a folder without a valid manifest is never loaded,
// so a kill at any moment leaves the previous complete checkpoint.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readPth, writePth } from '../io/pth';
import type { StateDict } from '../io/stateDict';
import type { AdamState } from './adam';
import type { PoolState } from './imagePool';
import type { RngState } from './rng';

export const MANIFEST = 'manifest.json';
const FORMAT = 'domain-translator-checkpoint/1';

export interface CheckpointState {
  /** Optimisation steps done. */
  step: number;
  epoch: number;
  rng: RngState;
  /** Official network name → state dict (official keys, PyTorch layouts). */
  nets: Map<string, StateDict>;
  /** 'G', 'D' → Adam state, moments keyed "<net>.<official key>". */
  optimizers: Map<string, AdamState>;
  /** 'fake_A', 'fake_B' → stored images. */
  pools: Map<string, PoolState>;
}

interface StateJson {
  step: number;
  epoch: number;
  rng: RngState;
  nets: string[];
  optimizers: Record<string, { step: number; file: string }>;
  pools: Record<string, { count: number; file: string }>;
}

interface ManifestJson {
  format: string;
  step: number;
  files: { name: string; bytes: number; sha256: string }[];
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

function momentsDict(s: AdamState, shapes: Map<string, number[]>): StateDict {
  const sd: StateDict = new Map();
  for (const [name, data] of s.expAvg) {
    const shape = shapes.get(name) ?? [data.length];
    sd.set(`${name}.exp_avg`, { shape, data, dtype: 'float32' });
    sd.set(`${name}.exp_avg_sq`, { shape, data: s.expAvgSq.get(name)!, dtype: 'float32' });
  }
  return sd;
}

export interface SaveOptions {
  /** Shapes of the optimizer moments by parameter name (for readable .pth files); flat when absent. */
  momentShapes?: Map<string, number[]>;
}

async function writeCheckpointFiles(dir: string, s: CheckpointState, opts: SaveOptions): Promise<void> {
  const state: StateJson = { step: s.step, epoch: s.epoch, rng: s.rng, nets: [...s.nets.keys()], optimizers: {}, pools: {} };
  for (const [name, sd] of s.nets) await writePth(path.join(dir, `latest_net_${name}.pth`), sd);
  for (const [name, st] of s.optimizers) {
    const file = `optimizer_${name}.pth`;
    await writePth(path.join(dir, file), momentsDict(st, opts.momentShapes ?? new Map()));
    state.optimizers[name] = { step: st.step, file };
  }
  for (const [name, pool] of s.pools) {
    const file = `pool_${name}.pth`;
    const sd: StateDict = new Map(pool.images.map((im, i) => [String(i), { shape: im.shape, data: im.data, dtype: 'float32' as const }]));
    await writePth(path.join(dir, file), sd);
    state.pools[name] = { count: pool.images.length, file };
  }
  await fs.writeFile(path.join(dir, 'state.json'), JSON.stringify(state, null, 1) + '\n');
  const files = [];
  for (const name of (await fs.readdir(dir)).sort()) {
    const buf = await fs.readFile(path.join(dir, name));
    files.push({ name, bytes: buf.length, sha256: sha256(buf) });
  }
  const manifest: ManifestJson = { format: FORMAT, step: s.step, files };
  await fs.writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
}

/** Replace `target` by a folder built in a temporary sibling; `target` is complete before and after. */
export async function replaceDir(target: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const tmp = path.join(parent, `.tmp-${path.basename(target)}-${tag}`);
  await fs.mkdir(tmp);
  try {
    await build(tmp);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = path.join(parent, `.old-${path.basename(target)}-${tag}`);
  const hadOld = await fs.rename(target, old).then(
    () => true,
    () => false,
  );
  // Between these renames only `.old-…` holds the previous checkpoint; findCheckpoint looks there too.
  await fs.rename(tmp, target);
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
}

/** Write `checkpoints/latest` (and `checkpoints/step-N` when `keep`) atomically. */
export async function saveCheckpoint(checkpointsDir: string, s: CheckpointState, keep: boolean, opts: SaveOptions = {}): Promise<string> {
  const latest = path.join(checkpointsDir, 'latest');
  await replaceDir(latest, (tmp) => writeCheckpointFiles(tmp, s, opts));
  if (keep) await replaceDir(path.join(checkpointsDir, `step-${s.step}`), (tmp) => writeCheckpointFiles(tmp, s, opts));
  // Leftovers of earlier kills: half-written folders and superseded previous checkpoints.
  for (const name of await fs.readdir(checkpointsDir)) {
    if (name.startsWith('.tmp-') || name.startsWith('.old-')) await fs.rm(path.join(checkpointsDir, name), { recursive: true, force: true });
  }
  return latest;
}

/** Step of a checkpoint folder whose manifest matches its files; undefined when anything is missing or altered. */
export async function validCheckpointStep(dir: string): Promise<number | undefined> {
  let manifest: ManifestJson;
  try {
    manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as ManifestJson;
  } catch {
    return undefined;
  }
  if (manifest.format !== FORMAT || !Array.isArray(manifest.files)) return undefined;
  for (const f of manifest.files) {
    const buf = await fs.readFile(path.join(dir, f.name)).catch(() => undefined);
    if (!buf || buf.length !== f.bytes || sha256(buf) !== f.sha256) return undefined;
  }
  return manifest.step;
}

/** The most advanced valid checkpoint under `checkpointsDir` (latest, step-N, or a previous latest left by a kill mid-swap). */
export async function findCheckpoint(checkpointsDir: string): Promise<{ dir: string; step: number } | undefined> {
  const names = await fs.readdir(checkpointsDir).catch(() => [] as string[]);
  let best: { dir: string; step: number } | undefined;
  for (const name of names) {
    if (!(name === 'latest' || /^step-\d+$/.test(name) || name.startsWith('.old-'))) continue;
    const dir = path.join(checkpointsDir, name);
    const step = await validCheckpointStep(dir);
    if (step !== undefined && (!best || step > best.step || (step === best.step && name === 'latest'))) best = { dir, step };
  }
  return best;
}

/** Read a checkpoint folder (validated first). */
export async function loadCheckpoint(dir: string): Promise<CheckpointState> {
  if ((await validCheckpointStep(dir)) === undefined) throw new Error(`${dir}: not a complete checkpoint (manifest missing or files altered)`);
  const st = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as StateJson;
  const nets = new Map<string, StateDict>();
  for (const name of st.nets) nets.set(name, await readPth(path.join(dir, `latest_net_${name}.pth`)));
  const optimizers = new Map<string, AdamState>();
  for (const [name, o] of Object.entries(st.optimizers)) {
    const sd = await readPth(path.join(dir, o.file));
    const expAvg = new Map<string, Float32Array>();
    const expAvgSq = new Map<string, Float32Array>();
    for (const [key, t] of sd) {
      if (key.endsWith('.exp_avg_sq')) expAvgSq.set(key.slice(0, -'.exp_avg_sq'.length), t.data);
      else if (key.endsWith('.exp_avg')) expAvg.set(key.slice(0, -'.exp_avg'.length), t.data);
    }
    optimizers.set(name, { step: o.step, expAvg, expAvgSq });
  }
  const pools = new Map<string, PoolState>();
  for (const [name, p] of Object.entries(st.pools)) {
    const sd = await readPth(path.join(dir, p.file));
    const images = [];
    for (let i = 0; i < p.count; i++) {
      const t = sd.get(String(i));
      if (!t) throw new Error(`${dir}: ${p.file} lacks image ${i}`);
      images.push({ shape: t.shape, data: t.data });
    }
    pools.set(name, { images });
  }
  return { step: st.step, epoch: st.epoch, rng: st.rng, nets, optimizers, pools };
}
