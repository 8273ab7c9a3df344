// Messages of the training panel (loss curves, samples over steps, output
// diversity, options of one run). The host always posts a complete snapshot of
// the run, never a delta, so a panel that was hidden and restored is current.
import type { DiversityPoint, LogRecord, RunOptionsJson, TrainingStatus, TrainModel } from '../training';

export interface PanelSample {
  step: number;
  /** webview URI of the strip PNG, converted by the host */
  uri: string;
  /** Absolute path, which the panel may send back in openFile (the host checks it). */
  file: string;
  rows: number;
  columns: number;
}

export interface TrainingPanelSnapshot {
  runDir: string;
  name: string;
  model?: TrainModel;
  /** Live or recovered status; undefined for a run nobody is training. */
  status?: TrainingStatus;
  options?: RunOptionsJson;
  records: LogRecord[];
  samples: PanelSample[];
  diversity: DiversityPoint[];
  checkpointStep?: number;
  warnings: string[];
  /** Set when the snapshot could not be read (the folder is gone, the server is down). */
  error?: string;
}

// host → panel: the whole state to render.
export interface TrainingSnapshotMessage { type: 'snapshot'; snapshot: TrainingPanelSnapshot }
export type TrainingHostMessage = TrainingSnapshotMessage;

// panel → host: the panel has loaded and wants a snapshot.
export interface TrainingReadyMessage { type: 'ready' }
// panel → host: open a file of the run (options.json, a sample strip) in an editor; refused unless inside the run folder.
export interface TrainingOpenFileMessage { type: 'openFile'; path: string }
// panel → host: reveal the run folder in the explorer.
export interface TrainingRevealMessage { type: 'revealRun' }
// panel → host: the Stop / Resume buttons (the same commands as the palette's).
export interface TrainingStopMessage { type: 'stop' }
export interface TrainingResumeMessage { type: 'resume' }
export type TrainingPanelMessage = TrainingReadyMessage | TrainingOpenFileMessage | TrainingRevealMessage | TrainingStopMessage | TrainingResumeMessage;
