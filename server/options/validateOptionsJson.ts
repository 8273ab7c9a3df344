// Validation of a run's options.json as the user types: what the JSON schema
// (media/schemas/options.schema.json, checked by VS Code's JSON support)
// cannot say — unknown names with a suggestion, sizes the network cannot take,
// crop larger than load, a generator or pool that does not fit the model, and (async) a
// dataset folder that is missing or in no known layout. Pure over the text, so
// the language server and the tests run the same function.
import * as path from 'node:path';
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import schema from '../../media/schemas/options.schema.json';

export type Severity = 'error' | 'warning' | 'information';

export interface Position { line: number; character: number }
export interface OptionsDiagnostic {
  severity: Severity;
  message: string;
  range: { start: Position; end: Position };
  /** The option the diagnostic is about, when there is one. */
  option?: string;
}

export const KNOWN_OPTIONS: readonly string[] = Object.keys(schema.properties);

const UNET_SIDE: Record<string, number> = { unet_128: 128, unet_256: 256 };

function positionAt(text: string, offset: number): Position {
  let line = 0;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, character: offset - start };
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest known option name (case, dashes and small typos), if one is close. */
export function suggestOption(name: string): string | undefined {
  const norm = name.replace(/-/g, '_');
  const exact = KNOWN_OPTIONS.find((k) => k.toLowerCase() === norm.toLowerCase());
  if (exact) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of KNOWN_OPTIONS) {
    const dist = editDistance(norm.toLowerCase(), k.toLowerCase());
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return bestD <= Math.max(1, Math.floor(norm.length / 4)) ? best : undefined;
}

export interface ParsedOptions {
  diagnostics: OptionsDiagnostic[];
  /** dataroot's value and range, for the asynchronous dataset check. */
  dataroot?: { value: string; range: OptionsDiagnostic['range'] };
  model?: string;
}

/** Synchronous checks of options.json text (syntax errors are left to the JSON language support). */
export function validateOptionsText(text: string): ParsedOptions {
  const diagnostics: OptionsDiagnostic[] = [];
  const root = parseTree(text, [], { allowTrailingComma: false, disallowComments: true });
  if (!root || root.type !== 'object') return { diagnostics };
  const rangeOf = (n: Node) => ({ start: positionAt(text, n.offset), end: positionAt(text, n.offset + n.length) });
  const add = (severity: Severity, node: Node, message: string, option?: string) => diagnostics.push({ severity, message, range: rangeOf(node), option });

  const values = new Map<string, { value: unknown; node: Node; key: Node }>();
  for (const prop of root.children ?? []) {
    const [key, value] = prop.children ?? [];
    // An empty key is what the parser recovers from a half-typed property; the JSON support reports that.
    if (!key || typeof key.value !== 'string' || key.value === '') continue;
    const name = key.value;
    if (!KNOWN_OPTIONS.includes(name)) {
      const hint = suggestOption(name);
      add('error', key, `unknown option "${name}"${hint ? `; did you mean "${hint}"?` : ''}`, name);
      continue;
    }
    if (value) values.set(name, { value: value.type === 'object' || value.type === 'array' ? undefined : value.value, node: value, key });
  }
  const num = (k: string): number | undefined => {
    const v = values.get(k)?.value;
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const str = (k: string): string | undefined => {
    const v = values.get(k)?.value;
    return typeof v === 'string' ? v : undefined;
  };
  const at = (k: string): Node => values.get(k)?.node ?? findNodeAtLocation(root, [k]) ?? root;

  const model = str('model');
  const netG = str('netG') ?? (model === 'pix2pix' ? 'unet_256' : 'resnet_9blocks');
  const preprocess = str('preprocess') ?? 'resize_and_crop';
  const crop = num('crop_size');
  const load = num('load_size');
  const multiple = UNET_SIDE[netG] ?? 4;
  const why = UNET_SIDE[netG] ? `${netG} halves the image ${Math.log2(multiple)} times` : 'the ResNet generator downsamples twice';

  // The side the network sees: the crop when preprocessing crops, the scaled width otherwise ('none' is rounded by the loader).
  if (preprocess.includes('crop')) {
    if (crop !== undefined && crop % multiple !== 0) add('error', at('crop_size'), `crop_size must be a multiple of ${multiple} (${why}); got ${crop}`, 'crop_size');
    if (crop !== undefined && load !== undefined && crop > load) add('error', at('crop_size'), `crop_size (${crop}) is larger than load_size (${load}): the crop must fit in the loaded image`, 'crop_size');
  } else if (preprocess === 'scale_width' && load !== undefined && load % multiple !== 0) {
    add('error', at('load_size'), `with preprocess scale_width the network sees load_size wide images: load_size must be a multiple of ${multiple} (${why}); got ${load}`, 'load_size');
  }

  if (model === 'cyclegan' && UNET_SIDE[netG] && values.has('netG')) {
    add('warning', at('netG'), `${netG} with cyclegan: the official CycleGAN uses resnet_9blocks or resnet_6blocks; U-Net generators pass details through skip connections and cycle-consistency then teaches them little`, 'netG');
  }
  if (model === 'pix2pix' && !UNET_SIDE[netG] && values.has('netG')) {
    add('information', at('netG'), `${netG} with pix2pix: allowed, but the official pix2pix uses unet_256 (or unet_128)`, 'netG');
  }
  // (Resolved files hold every option, so options the other model uses are not flagged; a pool is.)
  if (model === 'pix2pix' && (num('pool_size') ?? 0) > 0) add('warning', at('pool_size'), 'pix2pix does not use an image pool (official pool_size 0); this value is ignored', 'pool_size');
  const batch = num('batch_size');
  if (str('norm') === 'batch' && batch === 1 && model === 'cyclegan') {
    add('information', at('norm'), 'batch norm with batch_size 1 behaves as instance norm during training but not at test time; CycleGAN uses instance norm', 'norm');
  }

  const drNode = values.get('dataroot');
  const dataroot = drNode && typeof drNode.value === 'string' ? { value: drNode.value, range: rangeOf(drNode.node) } : undefined;
  if (drNode && typeof drNode.value === 'string' && !drNode.value.trim()) add('error', drNode.node, 'dataroot is empty: give the dataset folder', 'dataroot');
  return { diagnostics, dataroot: dataroot?.value.trim() ? dataroot : undefined, model };
}

/** Folder relative dataroot values are resolved against: the workspace holding .domain-translator/runs/<name>/options.json. */
export function workspaceOfOptionsFile(file: string): string {
  const runs = path.dirname(path.dirname(file));
  return path.basename(runs) === 'runs' && path.basename(path.dirname(runs)) === '.domain-translator'
    ? path.dirname(path.dirname(runs))
    : path.dirname(file);
}

/**
 * Every check, with the dataset folder looked up through `layoutOf` (the
 * server passes detectLayout); `model` decides whether the layout fits.
 */
export async function validateOptionsFile(
  text: string, file: string,
  layoutOf: (root: string) => Promise<{ kind: string }>,
): Promise<OptionsDiagnostic[]> {
  const { diagnostics, dataroot, model } = validateOptionsText(text);
  if (!dataroot) return diagnostics;
  const root = path.resolve(workspaceOfOptionsFile(file), dataroot.value);
  try {
    const { kind } = await layoutOf(root);
    if (kind === 'single') diagnostics.push({ severity: 'error', range: dataroot.range, option: 'dataroot', message: `${root} is a single folder of images; training needs trainA/ + trainB/ (CycleGAN) or train/ with A|B images, or A/ + B/ (pix2pix)` });
    else if (model === 'pix2pix' && kind === 'unaligned') diagnostics.push({ severity: 'error', range: dataroot.range, option: 'dataroot', message: `pix2pix needs paired images, but ${root} is unaligned (trainA/, trainB/); use model "cyclegan" or a paired dataset` });
  } catch (e) {
    diagnostics.push({ severity: 'error', range: dataroot.range, option: 'dataroot', message: e instanceof Error ? e.message : String(e) });
  }
  return diagnostics;
}
