// Generators as tfjs model files: model.json (a standard tfjs weightsManifest
// plus a `domainTranslator` block holding the network spec) and one binary
// shard. Our networks are functions of their weights, not tfjs-layers graphs,
// so there is no modelTopology: tf.loadLayersModel cannot run this file; the
// spec rebuilds the network here. Weights are in tfjs layout under the
// official state_dict keys (conv kernels [kh, kw, in, out]).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ModelFileError } from '../io/modelFileError';
import type { StateDict } from '../io/stateDict';
import { layoutProblems, permute4d, TO_TFJS, TO_TORCH } from './params';
import { type GeneratorSpec, describeSpec } from './spec';

export const TFJS_FORMAT = 'domain-translator-generator';
export const MODEL_JSON = 'model.json';
export const WEIGHTS_FILE = 'group1-shard1of1.bin';

/** Where the generator came from and what it does, for the user and the translate summary. */
export interface TfjsModelInfo {
  /** Official network name in its run: G_A, G_B or G. */
  network: string;
  /** Run folder name and step of the checkpoint exported. */
  run?: string;
  step?: number;
}

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

interface ModelJson {
  format: string;
  generatedBy: string;
  convertedBy: null;
  domainTranslator: TfjsModelInfo & { version: 1; spec: GeneratorSpec; layout: string };
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
}

const LAYOUT = 'NHWC, values in [-1, 1]; weights under the official state_dict keys, conv kernels [kh, kw, in, out], transposed-conv kernels [kh, kw, out, in]';

/**
 * Write `sd` (a generator's state dict in PyTorch layouts, official key order)
 * as `<dir>/model.json` + `<dir>/group1-shard1of1.bin`. int64 counters become int32.
 */
export async function writeTfjsModel(dir: string, sd: StateDict, spec: GeneratorSpec, info: TfjsModelInfo, generatedBy: string): Promise<void> {
  const weights: WeightEntry[] = [];
  const chunks: Buffer[] = [];
  for (const [name, t] of sd) {
    const isInt = t.dtype === 'int64' || t.dtype === 'int32';
    const { data, shape } = t.shape.length === 4 ? permute4d(t.data, t.shape, TO_TFJS) : { data: t.data, shape: t.shape };
    const typed = isInt ? Int32Array.from(data) : Float32Array.from(data);
    chunks.push(Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength));
    weights.push({ name, shape: [...shape], dtype: isInt ? 'int32' : 'float32' });
  }
  const json: ModelJson = {
    format: TFJS_FORMAT,
    generatedBy,
    convertedBy: null,
    domainTranslator: { version: 1, ...info, spec, layout: LAYOUT },
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights }],
  };
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, WEIGHTS_FILE), Buffer.concat(chunks));
  await fs.writeFile(path.join(dir, MODEL_JSON), JSON.stringify(json, null, 1) + '\n');
}

const NETG = ['resnet_6blocks', 'resnet_9blocks', 'unet_128', 'unet_256'];
const NORMS = ['instance', 'batch', 'none'];

function positiveInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** The spec of a model.json's domainTranslator block, or a ModelFileError saying what is wrong with it. */
function specOf(meta: unknown, file: string): GeneratorSpec {
  const spec = (meta as { spec?: Partial<Record<keyof GeneratorSpec, unknown>> } | undefined)?.spec;
  if (!spec || typeof spec !== 'object') throw new ModelFileError(file, 'domainTranslator block has no network spec');
  if (typeof spec.netG !== 'string' || !NETG.includes(spec.netG)) {
    throw new ModelFileError(file, `unknown architecture "${String(spec.netG)}" (known generators: ${NETG.join(', ')})`);
  }
  const bad: string[] = [];
  if (!positiveInt(spec.ngf)) bad.push(`ngf ${String(spec.ngf)}`);
  if (typeof spec.norm !== 'string' || !NORMS.includes(spec.norm)) bad.push(`norm ${String(spec.norm)}`);
  if (!positiveInt(spec.inputNc)) bad.push(`inputNc ${String(spec.inputNc)}`);
  if (!positiveInt(spec.outputNc)) bad.push(`outputNc ${String(spec.outputNc)}`);
  if (typeof spec.useDropout !== 'boolean') bad.push(`useDropout ${String(spec.useDropout)}`);
  if (bad.length) throw new ModelFileError(file, `invalid network spec: ${bad.join(', ')}`);
  return spec as GeneratorSpec;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Read a model.json written by writeTfjsModel: its spec, info, and the weights
 * as a state dict in PyTorch layouts (what Generator.fromStateDict takes).
 * Missing or short weight files, unknown architectures and weights that do not
 * fit the spec are ModelFileErrors naming the file.
 */
export async function readTfjsModel(file: string): Promise<{ spec: GeneratorSpec; info: TfjsModelInfo; sd: StateDict }> {
  let json: Partial<ModelJson>;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<ModelJson>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(file, code ? `cannot read (${code})` : `not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || !json.domainTranslator) {
    throw new ModelFileError(
      file,
      json && typeof json === 'object' && 'modelTopology' in json
        ? 'a tfjs layers/graph model; only generators exported by Domain Translator (model.json with a domainTranslator block) can be used'
        : 'not a Domain Translator tfjs model (no domainTranslator block)',
    );
  }
  const spec = specOf(json.domainTranslator, file);
  const groups = json.weightsManifest;
  if (!Array.isArray(groups) || groups.length === 0) throw new ModelFileError(file, 'weightsManifest is missing or empty');
  const sd: StateDict = new Map();
  for (const group of groups) {
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new ModelFileError(file, 'weightsManifest group without paths or weights');
    for (const w of group.weights) {
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new ModelFileError(file, `weightsManifest entry ${JSON.stringify(w)} needs a name and a shape of non-negative integers`);
      }
    }
    const buffers: Buffer[] = [];
    for (const p of group.paths) {
      const shard = path.resolve(path.dirname(file), p);
      if (path.dirname(shard) !== path.dirname(file)) throw new ModelFileError(file, `weights file ${p} is not next to model.json`);
      try {
        buffers.push(await fs.readFile(shard));
      } catch (e) {
        throw new ModelFileError(file, `weights file ${p} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
    const buf = Buffer.concat(buffers);
    const expectedBytes = group.weights.reduce((n, w) => n + 4 * numel(w.shape), 0);
    if (buf.length !== expectedBytes) {
      throw new ModelFileError(file, `weights file ${group.paths.join(' + ')} holds ${buf.length} bytes, the manifest describes ${expectedBytes}`);
    }
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32' && w.dtype !== 'int32') throw new ModelFileError(file, `weight ${w.name} has dtype ${String(w.dtype)} (float32 or int32 expected)`);
      const n = numel(w.shape);
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset + offset, 4 * n).slice();
      offset += 4 * n;
      const values = w.dtype === 'int32' ? Float32Array.from(new Int32Array(bytes.buffer)) : new Float32Array(bytes.buffer);
      const t = w.shape.length === 4 ? permute4d(values, w.shape, TO_TORCH) : { data: values, shape: [...w.shape] };
      sd.set(w.name, { ...t, dtype: w.dtype === 'int32' ? 'int64' : 'float32' });
    }
  }
  const problems = layoutProblems(sd, spec);
  if (problems.length) throw new ModelFileError(file, `weights do not match a ${describeSpec(spec)}: ${problems.slice(0, 3).join('; ')}`);
  const { network, run, step } = json.domainTranslator;
  return { spec, info: { network: typeof network === 'string' ? network : 'G', run, step }, sd };
}
