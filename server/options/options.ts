// Training options under their official names (pytorch-CycleGAN-and-pix2pix
// base/train options and each model's modify_commandline_options), plus the
// few this tool adds (iterations, seed, run folder, logging cadence). The
// resolved object is what options.json holds, so a run is reproducible from it.
import type { BackendName, Direction } from '../../protocol/server';

export type ModelName = 'cyclegan' | 'pix2pix';
export type PresetName = 'preview' | 'standard' | 'full';
export type Preprocess = 'resize_and_crop' | 'crop' | 'scale_width' | 'scale_width_and_crop' | 'none';
export type NetG = 'resnet_9blocks' | 'resnet_6blocks' | 'unet_128' | 'unet_256';
export type NetD = 'basic' | 'n_layers' | 'pixel';
export type Norm = 'instance' | 'batch' | 'none';
export type GanMode = 'lsgan' | 'vanilla';

export interface TrainOptions {
  /** Dataset folder (absolute). */
  dataroot: string;
  model: ModelName;
  preset: PresetName;
  /** Run name; the run folder defaults to <workspace>/.domain-translator/runs/<name>. */
  name: string;
  direction: Direction;
  input_nc: number;
  output_nc: number;
  ngf: number;
  ndf: number;
  netG: NetG;
  netD: NetD;
  n_layers_D: number;
  norm: Norm;
  no_dropout: boolean;
  init_type: 'normal';
  init_gain: number;
  gan_mode: GanMode;
  lambda_A: number;
  lambda_B: number;
  lambda_identity: number;
  lambda_L1: number;
  pool_size: number;
  lr: number;
  beta1: number;
  lr_policy: 'linear';
  /** Epochs at the initial learning rate, then epochs of linear decay to zero. */
  n_epochs: number;
  n_epochs_decay: number;
  batch_size: number;
  load_size: number;
  crop_size: number;
  preprocess: Preprocess;
  no_flip: boolean;
  serial_batches: boolean;
  /** Total optimisation steps of the run (a resumed run continues up to this). */
  iterations: number;
  seed: number;
  /** Steps between log.jsonl lines, sample strips, checkpoints (latest is also written at the end). */
  print_every: number;
  sample_every: number;
  save_every: number;
  /** Steps between kept checkpoints/step-N copies (0: only latest). */
  keep_every: number;
  backend?: BackendName;
}

/** The official defaults (base_options.py + train_options.py), before the model's own defaults. */
const OFFICIAL: Omit<TrainOptions, 'dataroot' | 'model' | 'preset' | 'name' | 'iterations'> = {
  direction: 'AtoB',
  input_nc: 3,
  output_nc: 3,
  ngf: 64,
  ndf: 64,
  netG: 'resnet_9blocks',
  netD: 'basic',
  n_layers_D: 3,
  norm: 'instance',
  no_dropout: false,
  init_type: 'normal',
  init_gain: 0.02,
  gan_mode: 'lsgan',
  lambda_A: 10,
  lambda_B: 10,
  lambda_identity: 0.5,
  lambda_L1: 100,
  pool_size: 50,
  lr: 0.0002,
  beta1: 0.5,
  lr_policy: 'linear',
  n_epochs: 100,
  n_epochs_decay: 100,
  batch_size: 1,
  load_size: 286,
  crop_size: 256,
  preprocess: 'resize_and_crop',
  no_flip: false,
  serial_batches: false,
  seed: 0,
  print_every: 100,
  sample_every: 400,
  save_every: 5000,
  keep_every: 0,
};

const KNOWN_KEYS = new Set<string>([...Object.keys(OFFICIAL), 'dataroot', 'model', 'preset', 'name', 'iterations', 'backend']);

/** What each official model sets in modify_commandline_options. */
const MODEL_DEFAULTS: Record<ModelName, Partial<TrainOptions>> = {
  cyclegan: { no_dropout: true },
  pix2pix: { norm: 'batch', netG: 'unet_256', pool_size: 0, gan_mode: 'vanilla' },
};

/**
 * Presets trade resolution and width for speed. `iterations` is the default
 * length; `full` is the official recipe (200 epochs). pix2pix has no official
 * U-Net below 128 px, so its preview runs at 128 px with a narrow U-Net.
 */
const PRESETS: Record<PresetName, Record<ModelName, Partial<TrainOptions> & { iterations?: number }>> = {
  preview: {
    cyclegan: { load_size: 72, crop_size: 64, ngf: 32, ndf: 32, netG: 'resnet_6blocks', iterations: 1000, print_every: 10, sample_every: 100, save_every: 250 },
    pix2pix: { load_size: 143, crop_size: 128, ngf: 32, ndf: 32, netG: 'unet_128', iterations: 1000, print_every: 10, sample_every: 100, save_every: 250 },
  },
  standard: {
    cyclegan: { load_size: 143, crop_size: 128, ngf: 64, ndf: 64, netG: 'resnet_6blocks', iterations: 20000, print_every: 50, sample_every: 500, save_every: 1000, keep_every: 5000 },
    pix2pix: { load_size: 143, crop_size: 128, ngf: 64, ndf: 64, netG: 'unet_128', iterations: 20000, print_every: 50, sample_every: 500, save_every: 1000, keep_every: 5000 },
  },
  full: {
    cyclegan: { save_every: 5000, keep_every: 25000 },
    pix2pix: { save_every: 5000, keep_every: 25000 },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** Options a user gives (CLI flags, the VS Code form, an edited options.json). */
export type TrainRequest = Partial<TrainOptions> & {
  dataroot: string;
  /** Alternative to iterations: whole epochs over the dataset. */
  epochs?: number;
};

export interface ResolveContext {
  /** Images per epoch as the official loader counts them (max(|A|, |B|) unaligned, pairs aligned). */
  datasetSize: number;
}

export function iterationsPerEpoch(o: Pick<TrainOptions, 'batch_size'>, ctx: ResolveContext): number {
  return Math.max(1, Math.ceil(ctx.datasetSize / o.batch_size));
}

/** Resolve defaults in the official order: base, model, preset, then what the user set. */
export function resolveOptions(req: TrainRequest, ctx: ResolveContext): TrainOptions {
  const model = req.model ?? 'cyclegan';
  const preset = req.preset ?? 'preview';
  const { iterations: presetIterations, ...presetOpts } = PRESETS[preset][model];
  const given = Object.fromEntries(Object.entries(req).filter(([, v]) => v !== undefined)) as TrainRequest;
  const { epochs, ...userOpts } = given;
  const unknown = Object.keys(userOpts).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length) throw new Error(`invalid training options: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  const o: TrainOptions = {
    ...OFFICIAL,
    ...MODEL_DEFAULTS[model],
    ...presetOpts,
    model,
    preset,
    name: '',
    iterations: 0,
    ...userOpts,
  } as TrainOptions;
  const ipe = iterationsPerEpoch(o, ctx);
  const scheduleGiven = req.n_epochs !== undefined || req.n_epochs_decay !== undefined;
  if (req.iterations === undefined && epochs !== undefined) o.iterations = epochs * ipe;
  else if (req.iterations === undefined) o.iterations = presetIterations ?? (o.n_epochs + o.n_epochs_decay) * ipe;
  if (!scheduleGiven && (req.iterations !== undefined || epochs !== undefined || presetIterations !== undefined)) {
    // Half the run at the initial rate, half decaying, as the official 100 + 100 epochs.
    const total = Math.max(1, Math.ceil(o.iterations / ipe));
    o.n_epochs = Math.ceil(total / 2);
    o.n_epochs_decay = total - o.n_epochs;
  }
  if (!o.name) o.name = `${model}-${preset}`;
  validateOptions(o);
  return o;
}

/** Allowed values of the options that are names. */
const CHOICES: Partial<Record<keyof TrainOptions, readonly string[]>> = {
  model: ['cyclegan', 'pix2pix'],
  preset: ['preview', 'standard', 'full'],
  direction: ['AtoB', 'BtoA'],
  netG: ['resnet_9blocks', 'resnet_6blocks', 'unet_128', 'unet_256'],
  netD: ['basic', 'n_layers', 'pixel'],
  norm: ['instance', 'batch', 'none'],
  init_type: ['normal'],
  gan_mode: ['lsgan', 'vanilla'],
  lr_policy: ['linear'],
  preprocess: ['resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop', 'none'],
  backend: ['tensorflow', 'wasm', 'cpu'],
};

/**
 * Unknown names and wrong JSON types (an edited options.json), one message per
 * field: what the value-range checks below can then rely on.
 */
function typeProblems(o: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const unknown = Object.keys(o).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length) problems.push(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  const expected: Record<string, string> = { dataroot: 'string', name: 'string', iterations: 'number' };
  for (const [k, v] of Object.entries(OFFICIAL)) expected[k] = typeof v;
  for (const [k, type] of Object.entries(expected)) {
    const v = o[k];
    if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) problems.push(`${k} must be a ${type === 'number' ? 'finite number' : type} (got ${JSON.stringify(v) ?? 'nothing'})`);
  }
  for (const [k, allowed] of Object.entries(CHOICES)) {
    const v = o[k];
    if (k === 'backend' && v === undefined) continue;
    if (!allowed!.includes(v as string)) problems.push(`${k} must be one of ${allowed!.join(', ')} (got ${JSON.stringify(v) ?? 'nothing'})`);
  }
  return problems;
}

/** One clear message per problem; throws when any. */
export function validateOptions(o: TrainOptions): void {
  const types = typeProblems(o as unknown as Record<string, unknown>);
  if (types.length) throw new Error(`invalid training options: ${types.join('; ')}`);
  const problems: string[] = [];
  const positiveInt = (k: keyof TrainOptions): void => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) problems.push(`${k} must be a positive integer (got ${String(v)})`);
  };
  for (const k of ['ngf', 'ndf', 'batch_size', 'load_size', 'crop_size', 'iterations', 'print_every', 'sample_every', 'save_every', 'n_layers_D'] as const) positiveInt(k);
  if (o.crop_size % 4 !== 0) problems.push(`crop_size must be a multiple of 4 (got ${o.crop_size})`);
  if (o.preprocess.includes('crop') && o.load_size < o.crop_size) problems.push(`load_size (${o.load_size}) must be at least crop_size (${o.crop_size})`);
  const unetMin: Partial<Record<NetG, number>> = { unet_128: 128, unet_256: 256 };
  const min = unetMin[o.netG];
  if (min && o.crop_size % min !== 0) problems.push(`${o.netG} needs crop_size a multiple of ${min} (got ${o.crop_size})`);
  if (!['AtoB', 'BtoA'].includes(o.direction)) problems.push(`direction must be AtoB or BtoA`);
  if (!['resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop', 'none'].includes(o.preprocess)) problems.push(`unknown preprocess "${o.preprocess}"`);
  if (!['lsgan', 'vanilla'].includes(o.gan_mode)) problems.push(`gan_mode must be lsgan or vanilla`);
  if (o.n_epochs < 0 || o.n_epochs_decay < 0) problems.push('n_epochs and n_epochs_decay must be >= 0');
  if (!(o.lr > 0)) problems.push(`lr must be > 0`);
  if (o.input_nc !== 3 || o.output_nc !== 3) problems.push('only 3-channel (RGB) images are supported');
  if (problems.length) throw new Error(`invalid training options: ${problems.join('; ')}`);
}

/**
 * The official linear policy, lambda_rule(c) = 1 - max(0, c + epoch_count - n_epochs) / (n_epochs_decay + 1),
 * with the scheduler stepped at the end of each epoch as in the official
 * train.py the papers were trained with (counter c = epoch - 1, epoch_count 1):
 * n_epochs at the full rate, then a linear decay that never reaches 0 inside
 * the run. (Later official code steps at the start of each epoch, which shifts
 * the decay one epoch earlier and makes the last epoch train at lr 0.)
 */
export function learningRate(o: Pick<TrainOptions, 'lr' | 'n_epochs' | 'n_epochs_decay'>, epoch: number): number {
  const factor = 1 - Math.max(0, epoch - o.n_epochs) / (o.n_epochs_decay + 1);
  return o.lr * Math.max(0, factor);
}
