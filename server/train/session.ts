// The entry point the CLI and the language server share: resolve options
// (fresh, or from a run folder's options.json on resume), pick the backend,
// and run. Progress goes through hooks, so the caller decides how to show it.
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { initBackend } from '../backend';
import { openTrainDataset } from '../data/datasets';
import { detectLayout } from '../data/layout';
import { resolveOptions, validateOptions, type TrainOptions, type TrainRequest } from '../options/options';
import { findCheckpoint } from './checkpoint';
import { readRunOptions, runTraining, type RunResult, type TrainHooks } from './run';
import type { BackendInfo } from '../../protocol/server';
import type { SkippedImage } from '../data/usableImages';

export interface StartTrainingRequest extends TrainRequest {
  /** Run folder; default <workspace>/.domain-translator/runs/<name>. */
  run?: string;
  /** Folder the default run folder is relative to (the VS Code workspace; the CLI's cwd). */
  workspace?: string;
  /** Continue the run folder's latest complete checkpoint up to `iterations`. */
  resume?: boolean;
}

export interface TrainingStarted {
  runDir: string;
  options: TrainOptions;
  backend: BackendInfo;
  datasetSize: number;
  /** Training images left out because they do not decode, with the reason (dataset-relative paths). */
  skipped: SkippedImage[];
}

export interface SessionHooks extends TrainHooks {
  /** Called once options are resolved and the backend is up, before the first step. */
  onStart?(info: TrainingStarted): void;
}

/** Default run folder of a run name. */
export function defaultRunDir(workspace: string, name: string): string {
  return path.join(workspace, '.domain-translator', 'runs', name);
}

/** Options a resume may change; everything else stays as the run was started. */
const RESUMABLE: (keyof TrainOptions)[] = ['iterations', 'print_every', 'sample_every', 'save_every', 'keep_every', 'backend'];

async function resolveFor(req: StartTrainingRequest): Promise<{ options: TrainOptions; runDir: string; datasetSize: number; skipped: SkippedImage[] }> {
  const workspace = req.workspace ?? process.cwd();
  if (req.resume) {
    const runDir = path.resolve(req.run ?? defaultRunDir(workspace, req.name ?? `${req.model ?? 'cyclegan'}-${req.preset ?? 'preview'}`));
    const file = path.join(runDir, 'options.json');
    const saved = await readRunOptions(runDir).catch((e: Error) => {
      throw new Error(`${file}: not valid JSON (${e.message})`);
    });
    if (!saved) throw new Error(`${runDir}: no options.json, not a training run folder`);
    const options: TrainOptions = { ...saved };
    for (const k of RESUMABLE) if (req[k] !== undefined) (options as unknown as Record<string, unknown>)[k] = req[k];
    try {
      validateOptions(options);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message} (fix the file or start a new run)`);
    }
    const dataset = await openTrainDataset(options.dataroot, options, options.model);
    return { options, runDir, datasetSize: dataset.size, skipped: dataset.skipped };
  }
  const dataroot = path.resolve(req.dataroot);
  if (!req.model) req = { ...req, model: (await detectLayout(dataroot)).kind === 'unaligned' ? 'cyclegan' : 'pix2pix' };
  // Session fields are not training options: keep them out of options.json.
  const { run: _run, workspace: _workspace, resume: _resume, ...trainRequest } = req;
  const provisional = resolveOptions({ ...trainRequest, dataroot }, { datasetSize: 1 });
  const dataset = await openTrainDataset(dataroot, provisional, provisional.model);
  const options = resolveOptions({ ...trainRequest, dataroot }, { datasetSize: dataset.size });
  const runDir = path.resolve(req.run ?? defaultRunDir(workspace, options.name));
  if (await findCheckpoint(path.join(runDir, 'checkpoints'))) {
    throw new Error(`${runDir} already holds a training run; resume it or choose another run folder`);
  }
  return { options, runDir, datasetSize: dataset.size, skipped: dataset.skipped };
}

export async function startTraining(req: StartTrainingRequest, hooks: SessionHooks = {}): Promise<RunResult> {
  const { options, runDir, datasetSize, skipped } = await resolveFor(req);
  const backend = await initBackend(options.backend);
  hooks.onStart?.({ runDir, options, backend, datasetSize, skipped });
  await fs.mkdir(runDir, { recursive: true });
  return runTraining(options, runDir, hooks, req.resume ?? false);
}
