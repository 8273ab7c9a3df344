// Requests and notifications between the extension and the server for
// training: start (with work-done progress; cancelling it stops the run and
// keeps its checkpoint), stop, live status, and complete snapshots of a run
// folder for the training panel and for recovery after a server restart.
import { NotificationType, RequestType, RequestType0, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import type { DatasetLayoutKind } from './dataset';

export type TrainModel = 'cyclegan' | 'pix2pix';
export type TrainPreset = 'preview' | 'standard' | 'full';
/** A run's options.json as plain JSON (keys are the official option names). */
export type RunOptionsJson = Record<string, string | number | boolean | null>;

export interface LayoutInfo {
  root: string;
  kind: DatasetLayoutKind;
  /** Official split folders and their image counts, e.g. trainA 400. */
  splits: { name: string; images: number }[];
  /** CycleGAN for unaligned folders, pix2pix for aligned or paired ones. */
  suggestedModel: TrainModel;
  /** One line for the user, e.g. "unaligned: trainA 400, trainB 400". */
  description: string;
}

export interface StartTrainingParams extends WorkDoneProgressParams {
  /** Absolute run folder (default <workspace>/.domain-translator/runs/<name>). */
  runDir: string;
  /** Folder the run's relative paths are resolved against (the workspace folder). */
  workspace: string;
  /** Continue the run folder's latest complete checkpoint; the options come from its options.json. */
  resume: boolean;
  /** Start a new run from the run folder's (possibly edited) options.json; dataset, model and preset are ignored. */
  fromOptionsFile?: boolean;
  dataset?: string;
  model?: TrainModel;
  preset?: TrainPreset;
  name?: string;
  /** Total steps; default the preset's length (a resumed run continues up to it). */
  iterations?: number;
  /** Steps between log.jsonl records and between sample strips; default the preset's. */
  printEvery?: number;
  sampleEvery?: number;
}

export interface TrainingResult {
  runDir: string;
  step: number;
  iterations: number;
  cancelled: boolean;
  startStep: number;
}

export type TrainingState = 'starting' | 'running' | 'stopping' | 'stopped' | 'finished' | 'failed';

export interface TrainingStatus {
  runDir: string;
  name: string;
  model?: TrainModel;
  state: TrainingState;
  /** Why it stopped or failed, or where the status came from (e.g. read from the run folder). */
  message?: string;
  step: number;
  total: number;
  epoch: number;
  iterationsPerSecond?: number;
  etaSeconds?: number;
  /** Latest logged losses by official name (D_A, G_A, … or G_GAN, G_L1, D_real, D_fake). */
  losses: Record<string, number>;
  /** Step of the latest complete checkpoint, if any. */
  checkpointStep?: number;
  backend?: string;
}

/** One line of log.jsonl as the engine writes it. */
export interface LogRecord {
  step: number;
  epoch: number;
  lr: number;
  seconds_per_iteration: number;
  losses: Record<string, number>;
}

export interface SampleInfo {
  step: number;
  /** Absolute path of the strip PNG (rows: probe images; columns x | G(x) | F(G(x)), or A | G(A) | B). */
  file: string;
  rows: number;
  columns: number;
}

/**
 * Output diversity at a sample step: the mean absolute difference between the
 * generated images of the two probe images, divided by that of their inputs
 * (CycleGAN) or real targets (pix2pix). Near 0: the generator gives the same
 * output whatever the input, a sign of mode collapse.
 */
export interface DiversityPoint {
  step: number;
  /** By direction: 'AtoB' (G_A, or pix2pix's G), 'BtoA' (G_B). */
  ratio: Partial<Record<'AtoB' | 'BtoA', number>>;
}

export interface RunSnapshot {
  runDir: string;
  name: string;
  options?: RunOptionsJson;
  records: LogRecord[];
  samples: SampleInfo[];
  diversity: DiversityPoint[];
  checkpointStep?: number;
  /** Problems reading the folder (a malformed log line, a missing options.json), for the user. */
  warnings: string[];
}

export interface RunSummary {
  runDir: string;
  name: string;
  model?: TrainModel;
  preset?: TrainPreset;
  iterations?: number;
  /** Latest complete checkpoint's step; undefined when there is none (a fresh options.json, or a killed first save). */
  checkpointStep?: number;
  hasOptions: boolean;
}

// extension → server, from "Start Training…": the dataset folder's layout, or a clear error.
export const DetectLayoutRequest = new RequestType<{ root: string }, LayoutInfo, void>('domainTranslator/detectLayout');
// extension → server, from Start/Resume Training: trains until done; work-done progress; cancelling stops and keeps the checkpoint.
export const StartTrainingRequest = new RequestType<StartTrainingParams, TrainingResult, void>('domainTranslator/startTraining');
// extension → server, from "Stop Training": the running training saves a checkpoint and stops; false when none runs.
export const StopTrainingRequest = new RequestType0<boolean, void>('domainTranslator/stopTraining');
// extension → server, on activation and after a restart: the running training's status, or null.
export const TrainingStatusRequest = new RequestType0<TrainingStatus | null, void>('domainTranslator/trainingStatus');
// server → extension, on start, every logged step, every sample and checkpoint, and at the end.
export const TrainingStatusNotification = new NotificationType<TrainingStatus>('domainTranslator/trainingStatusChanged');
// extension → server, for the training panel and recovery: everything in a run folder, complete.
export const RunSnapshotRequest = new RequestType<{ runDir: string }, RunSnapshot, void>('domainTranslator/runSnapshot');
// extension → server, from "Resume Training…": run folders under <workspace>/.domain-translator/runs.
export const ListRunsRequest = new RequestType<{ workspace: string }, RunSummary[], void>('domainTranslator/listRuns');
