// Every message between the extension host and the server, typed once and
// imported by both sides. One line above each says who sends it and when.
import { NotificationType, RequestType, RequestType0, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type Direction = 'AtoB' | 'BtoA';

export interface BackendInfo {
  name: BackendName;
  /** Why each better backend was not taken, e.g. "tensorflow: @tensorflow/tfjs-node is not installed". */
  skipped: string[];
  tfjsVersion: string;
  threads?: number;
  /** tensorflow only: our native kernels (native/dt_kernels.cc), "loaded", or why not. */
  nativeKernels?: string;
  /** tensorflow only: the native kernels are not loaded and BuildNativeKernelsRequest can build them here. */
  nativeKernelsBuildable?: boolean;
}

export interface NativeKernelsBuilt {
  /** The addon, in the extension's storage, named for this TensorFlow library and these sources. */
  file: string;
  seconds: number;
  /** The compiler's warnings, if any. */
  warnings: string;
}

export interface ServerStatus {
  backend: BackendInfo;
  /** What the server is doing now; undefined when idle. */
  task?: string;
}

/** What a model file or folder holds, as detected from its keys and shapes. */
export interface ModelSummary {
  path: string;
  format: 'pth' | 'run' | 'tfjs';
  /** Official netG / netD name: resnet_9blocks, resnet_6blocks, unet_128, unet_256, basic, n_layers, pixel. */
  architecture: string;
  role: 'generator' | 'discriminator';
  ngf: number;
  norm: 'instance' | 'batch' | 'none';
  inputNc: number;
  outputNc: number;
  parameters: number;
  /** Sides of inputs must be multiples of this. */
  sizeMultiple: number;
  /** Run folders and exported tfjs models: which of the run's generators this is (G_A, G_B or G). */
  network?: string;
}

export interface TranslateParams extends WorkDoneProgressParams {
  /** Absolute paths: one folder, or one or more image files. */
  inputs: string[];
  /** A .pth state dict, a training run folder, or a tfjs model.json. */
  model: string;
  direction: Direction;
  /** Output folder; default a new sibling `<folder>-to-B` (or -to-A) that never overwrites. */
  outDir?: string;
  /** Official --eval: BatchNorm running statistics, no dropout. */
  eval: boolean;
  /** Resize each output back to its input's size. */
  keepSize: boolean;
}

export interface TranslatedItem {
  input: string;
  output: string;
  width: number;
  height: number;
}

export interface SkippedItem {
  input: string;
  reason: string;
}

export interface TranslateResult {
  outDir: string;
  model: ModelSummary;
  translated: TranslatedItem[];
  /** Image-named files that could not be read, with the reason. */
  unreadable: SkippedItem[];
  /** Files skipped because they are not images. */
  nonImages: number;
  cancelled: boolean;
  seconds: number;
  imagesPerSecond: number;
  backend: BackendName;
}

// extension → server, on request: backend and current task.
export const StatusRequest = new RequestType0<ServerStatus, void>('domainTranslator/status');
// server → extension, whenever the backend or the current task changes.
export const StatusNotification = new NotificationType<ServerStatus>('domainTranslator/statusChanged');
// extension → server, when the user picks a model: what it is, or a clear error.
export const InspectModelRequest = new RequestType<{ path: string }, ModelSummary, void>('domainTranslator/inspectModel');
// extension → server, from "Build Native Kernels": compiles native/*.cc against the server's tfjs-node (~30 s); the next server start loads them.
export const BuildNativeKernelsRequest = new RequestType0<NativeKernelsBuilt, void>('domainTranslator/buildNativeKernels');
// extension → server, from "Translate to Domain A/B": translates with work-done progress; cancellable.
export const TranslateRequest = new RequestType<TranslateParams, TranslateResult, void>('domainTranslator/translate');

// Dataset curation requests (scan, thumbnails, manifest, moves) live in their own module.
export * from './dataset';
// Training requests (start with progress, stop, status, run snapshots) live in their own module.
export * from './training';
