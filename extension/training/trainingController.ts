// Which run is active and what its status is. Live status comes from the
// server's notifications; when the server (re)starts with no training, the
// active run's status is recovered from its folder (log.jsonl and the latest
// complete checkpoint), so a crash never leaves a stale "running" behind.
import * as vscode from 'vscode';
import { State } from 'vscode-languageclient/node';
import {
  RunSnapshotRequest, TrainingStatusNotification, TrainingStatusRequest, type RunSnapshot, type TrainingStatus,
} from '../../protocol/training';
import { message, type ServerClient } from '../client';

const ACTIVE_RUN_KEY = 'domainTranslator.activeRun';

/** The status a run folder shows when nothing trains it. `wasActive`: it was training when the server went away. */
export function statusFromSnapshot(snap: RunSnapshot, wasActive: boolean): TrainingStatus {
  const last = snap.records.at(-1);
  const total = typeof snap.options?.iterations === 'number' ? snap.options.iterations : 0;
  const model = snap.options?.model === 'cyclegan' || snap.options?.model === 'pix2pix' ? snap.options.model : undefined;
  // The last logged step; a resume continues from the checkpoint, which the message names.
  const step = Math.max(last?.step ?? 0, snap.checkpointStep ?? 0);
  const finished = total > 0 && (snap.checkpointStep ?? 0) >= total;
  const where = snap.checkpointStep !== undefined ? `latest complete checkpoint: step ${snap.checkpointStep}` : 'no complete checkpoint yet';
  return {
    runDir: snap.runDir,
    name: snap.name,
    model,
    state: finished ? 'finished' : 'stopped',
    message: wasActive && !finished
      ? `The server stopped while training; recovered from the run folder (${where}). "Resume Training…" continues it.`
      : `Read from the run folder (${where}).`,
    step,
    total,
    epoch: last?.epoch ?? 0,
    iterationsPerSecond: last && last.seconds_per_iteration > 0 ? 1 / last.seconds_per_iteration : undefined,
    losses: last?.losses ?? {},
    checkpointStep: snap.checkpointStep,
  };
}

export class TrainingController implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TrainingStatus | undefined>();
  readonly onDidChange = this.changed.event;
  private current: TrainingStatus | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly server: ServerClient, private readonly memento: vscode.Memento, private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(
      server.client.onNotification(TrainingStatusNotification, (s) => this.set(s)),
      server.client.onDidChangeState((e) => { if (e.newState === State.Running) void this.recover(); }),
    );
  }

  get status(): TrainingStatus | undefined {
    return this.current;
  }

  get activeRun(): string | undefined {
    return this.current?.runDir ?? this.memento.get<string>(ACTIVE_RUN_KEY);
  }

  get isTraining(): boolean {
    return this.current !== undefined && ['starting', 'running', 'stopping'].includes(this.current.state);
  }

  set(s: TrainingStatus): void {
    if (s.runDir !== this.memento.get(ACTIVE_RUN_KEY)) void this.memento.update(ACTIVE_RUN_KEY, s.runDir);
    this.current = s;
    this.changed.fire(s);
  }

  /** After a (re)start: the server's own status if it trains, else the active run as its folder shows it. */
  async recover(): Promise<void> {
    const wasActive = this.isTraining;
    try {
      const live = await this.server.client.sendRequest(TrainingStatusRequest);
      if (live) return this.set(live);
      const runDir = this.activeRun;
      if (!runDir) return;
      const snap = await this.server.client.sendRequest(RunSnapshotRequest, { runDir });
      const s = statusFromSnapshot(snap, wasActive);
      this.log.info(`training status of ${runDir} recovered from the run folder: ${s.state} at step ${s.step}`);
      this.set(s);
      if (wasActive) {
        const choice = await vscode.window.showWarningMessage(`Domain Translator: training ${s.name} stopped with the server. ${s.message}`, 'Resume Training…');
        if (choice) void vscode.commands.executeCommand('domainTranslator.resumeTraining', vscode.Uri.file(runDir));
      }
    } catch (e) {
      this.log.warn(`could not recover the training status: ${message(e)}`);
    }
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
    this.changed.dispose();
  }
}
