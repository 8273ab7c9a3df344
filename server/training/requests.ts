// The server side of training in VS Code: one training at a time, run by the
// engine's startTraining in this process (the editor never waits on it),
// reported as work-done progress and as TrainingStatus notifications, stopped
// by cancellation or StopTraining (the engine saves a checkpoint first).
import * as path from 'node:path';
import { ResponseError, WorkDoneProgress, type Connection } from 'vscode-languageserver/node';
import {
  DetectLayoutRequest, ListRunsRequest, RunSnapshotRequest, StartTrainingRequest, StopTrainingRequest,
  TrainingStatusNotification, TrainingStatusRequest,
  type LayoutInfo, type StartTrainingParams, type TrainingResult, type TrainingStatus,
} from '../../protocol/training';
import { detectLayout } from '../data/layout';
import { readRunOptions } from '../train/run';
import { startTraining, type StartTrainingRequest as EngineRequest } from '../train/session';
import { listRuns, readRunSnapshot } from './runFolder';

type WithTask = <T>(name: string, run: () => Promise<T>) => Promise<T>;

export async function layoutInfo(root: string): Promise<LayoutInfo> {
  const layout = await detectLayout(root);
  const splits = layout.splits.map((s) => ({ name: s.name, images: s.files.length }));
  return {
    root,
    kind: layout.kind,
    splits,
    suggestedModel: layout.kind === 'unaligned' ? 'cyclegan' : 'pix2pix',
    description: `${layout.kind}: ${splits.map((s) => `${s.name === '.' ? 'images' : s.name} ${s.images}`).join(', ')}`,
  };
}

/** The engine's request for the extension's parameters; relative dataset paths are resolved against the workspace. */
export async function engineRequest(p: StartTrainingParams): Promise<EngineRequest> {
  if (!path.isAbsolute(p.runDir) || !path.isAbsolute(p.workspace)) throw new Error('runDir and workspace must be absolute paths');
  const common = { run: p.runDir, workspace: p.workspace, iterations: p.iterations, print_every: p.printEvery, sample_every: p.sampleEvery };
  if (p.resume) return { ...common, dataroot: '', resume: true };
  if (p.fromOptionsFile) {
    const saved = await readRunOptions(p.runDir);
    if (!saved) throw new Error(`${path.join(p.runDir, 'options.json')} is missing`);
    const { name, ...rest } = saved;
    return {
      ...rest, name, ...common, dataroot: path.resolve(p.workspace, saved.dataroot),
      iterations: p.iterations ?? saved.iterations, print_every: p.printEvery ?? saved.print_every, sample_every: p.sampleEvery ?? saved.sample_every,
    };
  }
  if (!p.dataset) throw new Error('no dataset folder given');
  return { ...common, dataroot: path.resolve(p.workspace, p.dataset), model: p.model, preset: p.preset, name: p.name };
}

export function registerTrainingRequests(connection: Connection, withTask: WithTask): void {
  let current: { status: TrainingStatus; stop: boolean } | undefined;
  let last: TrainingStatus | undefined;

  const publish = (patch: Partial<TrainingStatus>): void => {
    if (!current) return;
    current.status = { ...current.status, ...patch };
    last = current.status;
    connection.sendNotification(TrainingStatusNotification, current.status);
  };

  connection.onRequest(DetectLayoutRequest, ({ root }) => layoutInfo(root));
  connection.onRequest(ListRunsRequest, ({ workspace }) => listRuns(workspace));
  connection.onRequest(RunSnapshotRequest, ({ runDir }) => {
    if (!path.isAbsolute(runDir)) throw new Error(`${runDir}: not an absolute path`);
    return readRunSnapshot(path.normalize(runDir));
  });
  connection.onRequest(TrainingStatusRequest, () => current?.status ?? last ?? null);
  connection.onRequest(StopTrainingRequest, () => {
    if (!current) return false;
    if (!current.stop) {
      current.stop = true;
      publish({ state: 'stopping', message: 'saving a checkpoint, then stopping' });
    }
    return true;
  });

  connection.onRequest(StartTrainingRequest, async (params, token): Promise<TrainingResult> => {
    if (current) throw new ResponseError(1, `a training is already running (${current.status.name}); stop it first`);
    const progressToken = params.workDoneToken;
    const report = (message: string, percentage?: number): void => {
      if (progressToken !== undefined) connection.sendProgress(WorkDoneProgress.type, progressToken, { kind: 'report', message, percentage });
    };
    const run = { status: { runDir: params.runDir, name: params.name ?? path.basename(params.runDir), state: 'starting', step: 0, total: 0, epoch: 0, losses: {} } as TrainingStatus, stop: false };
    current = run;
    publish({ message: params.resume ? 'resuming from the latest checkpoint' : 'loading the dataset' });
    try {
      const req = await engineRequest(params);
      const result = await withTask('training', () => startTraining(req, {
        onStart: ({ runDir, options, backend, skipped }) => {
          if (skipped.length) {
            for (const s of skipped) connection.console.warn(`training leaves out ${s.file}: ${s.reason}`);
            const first = skipped.slice(0, 3).map((s) => `${s.file} (${s.reason})`).join('; ');
            void connection.window.showWarningMessage(`Domain Translator: ${options.name} leaves out ${skipped.length} unreadable image${
              skipped.length === 1 ? '' : 's'}: ${first}${skipped.length > 3 ? '; … (the log lists all)' : ''}.`);
          }
          publish({ runDir, name: options.name, model: options.model, state: 'running', message: undefined, total: options.iterations, backend: backend.name });
          report(`${options.name}: starting on ${backend.name}`, 0);
        },
        onStep: (r) => {
          const s = run.status;
          const iterationsPerSecond = r.seconds_per_iteration > 0 ? 1 / r.seconds_per_iteration : undefined;
          const etaSeconds = iterationsPerSecond ? (s.total - r.step) / iterationsPerSecond : undefined;
          publish({ step: r.step, epoch: r.epoch, losses: r.losses, iterationsPerSecond, etaSeconds });
          report(`step ${r.step}/${s.total} · epoch ${r.epoch}` + (iterationsPerSecond ? ` · ${iterationsPerSecond.toFixed(2)} it/s` : ''),
            s.total ? Math.floor((100 * r.step) / s.total) : undefined);
        },
        onSample: () => publish({}),
        onCheckpoint: (_dir, step) => publish({ checkpointStep: step }),
        isCancelled: () => run.stop || token.isCancellationRequested,
      }));
      const finished = !result.cancelled;
      publish({
        state: finished ? 'finished' : 'stopped',
        step: result.step,
        message: finished
          ? (result.startStep >= result.iterations ? 'already complete' : `finished at step ${result.step}`)
          : `stopped at step ${result.step}; checkpoint kept`,
        etaSeconds: undefined,
      });
      return { runDir: result.runDir, step: result.step, iterations: result.iterations, cancelled: result.cancelled, startStep: result.startStep };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      publish({ state: 'failed', message, etaSeconds: undefined });
      throw new ResponseError(1, message);
    } finally {
      current = undefined;
    }
  });
}
