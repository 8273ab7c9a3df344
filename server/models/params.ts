// Network parameters as tfjs variables keyed by the official state_dict names,
// converted from and to PyTorch layouts. Conv2d [out,in,kh,kw] and
// ConvTranspose2d [in,out,kh,kw] weights both become [kh,kw,·,·] by the
// permutation [2,3,1,0], which is what tf.conv2d and tf.conv2dTranspose take.
import * as tf from '@tensorflow/tfjs-core';
import { ModelFileError } from '../io/modelFileError';
import type { StateDict, StoredTensor } from '../io/stateDict';
import { type ParamEntry, expectedParams, isTrainable } from './layout';
import { normalRng } from './rng';
import { type NetworkSpec, describeSpec } from './spec';

/** Official key → variable in tfjs layout (BatchNorm running statistics and counter are not trainable). */
export type Params = Map<string, tf.Variable>;

/** Axis permutations between PyTorch and tfjs conv kernel layouts (also used by the tfjs model export). */
export const TO_TFJS: readonly number[] = [2, 3, 1, 0];
export const TO_TORCH: readonly number[] = [3, 2, 0, 1];

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Keys an old PyTorch (< 0.4) InstanceNorm left behind; the official loader deletes them too. */
function isLegacyInstanceNormBuffer(key: string, spec: NetworkSpec): boolean {
  return spec.norm === 'instance' && /\.(running_mean|running_var|num_batches_tracked)$/.test(key);
}

/** Permutes a row-major 4-D array in JS: cheaper than a backend transpose for one-off weight conversion. */
export function permute4d(data: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((a) => shape[a]);
  const inStride = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const [s0, s1, s2, s3] = perm.map((a) => inStride[a]);
  const [d0, d1, d2, d3] = outShape;
  const out = new Float32Array(data.length);
  let o = 0;
  for (let i = 0; i < d0; i++)
    for (let j = 0; j < d1; j++)
      for (let k = 0; k < d2; k++) {
        const base = i * s0 + j * s1 + k * s2;
        for (let l = 0; l < d3; l++) out[o++] = data[base + l * s3];
      }
  return { data: out, shape: outShape };
}

function toVariable(entry: ParamEntry, data: Float32Array): tf.Variable {
  if (entry.kind === 'bnCount') return tf.tidy(() => tf.variable(tf.scalar(data[0] ?? 0, 'int32'), false));
  const t = entry.shape.length === 4 ? permute4d(data, entry.shape, TO_TFJS) : { data, shape: entry.shape };
  return tf.tidy(() => tf.variable(tf.tensor(t.data, t.shape, 'float32'), isTrainable(entry.kind)));
}

/** Problems of a state dict against the layout a spec expects, each one short; empty when it matches. */
export function layoutProblems(sd: StateDict, spec: NetworkSpec): string[] {
  const expected = expectedParams(spec);
  const wanted = new Set(expected.map((e) => e.key));
  const problems: string[] = [];
  const missing = expected.filter((e) => !sd.has(e.key)).map((e) => e.key);
  if (missing.length) problems.push(`missing ${listSome(missing)}`);
  const extra = [...sd.keys()].filter((k) => !wanted.has(k) && !isLegacyInstanceNormBuffer(k, spec));
  if (extra.length) problems.push(`unexpected ${listSome(extra)}`);
  for (const e of expected) {
    const got = sd.get(e.key);
    if (got && !sameShape(got.shape, e.shape)) problems.push(`${e.key} has shape ${shapeText(got.shape)}, expected ${shapeText(e.shape)}`);
  }
  return problems;
}

function listSome(keys: string[]): string {
  const shown = keys.slice(0, 3).join(', ');
  return keys.length > 3 ? `${shown} and ${keys.length - 3} more` : shown;
}

/** Variables for every key of `spec`'s state dict; a missing, extra or misshapen key is a ModelFileError naming `file`. */
export function paramsFromStateDict(sd: StateDict, spec: NetworkSpec, file: string): Params {
  const problems = layoutProblems(sd, spec);
  if (problems.length) throw new ModelFileError(file, `does not match a ${describeSpec(spec)}: ${problems.slice(0, 3).join('; ')}`);
  const params: Params = new Map();
  for (const e of expectedParams(spec)) params.set(e.key, toVariable(e, (sd.get(e.key) as StoredTensor).data));
  return params;
}

/** Back to PyTorch layouts and dtypes (num_batches_tracked is int64), in official key order, for .pth export. */
export function stateDictFromParams(params: Params): StateDict {
  const sd: StateDict = new Map();
  for (const [key, v] of params) {
    const values = v.dataSync();
    const t = v.rank === 4 ? permute4d(values, v.shape, TO_TORCH) : { data: Float32Array.from(values), shape: [...v.shape] };
    sd.set(key, { ...t, dtype: key.endsWith('.num_batches_tracked') ? 'int64' : 'float32' });
  }
  return sd;
}

/**
 * The official init_weights('normal', gain 0.02): Conv and ConvTranspose weights N(0, 0.02),
 * their biases 0, BatchNorm weight N(1, 0.02) and bias 0; running mean 0, var 1. Seeded.
 */
export function initParams(spec: NetworkSpec, seed: number): Params {
  const normal = normalRng(seed);
  const sd: StateDict = new Map();
  for (const e of expectedParams(spec)) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (e.kind === 'conv' || e.kind === 'convT') for (let i = 0; i < n; i++) data[i] = normal(0, 0.02);
    else if (e.kind === 'bnWeight') for (let i = 0; i < n; i++) data[i] = normal(1, 0.02);
    else if (e.kind === 'bnVar') data.fill(1);
    sd.set(e.key, { shape: e.shape, data, dtype: e.kind === 'bnCount' ? 'int64' : 'float32' });
  }
  return paramsFromStateDict(sd, spec, `initial weights of a ${describeSpec(spec)}`);
}

/** Number of trainable values (what the official print_network counts). */
export function countParameters(params: Params): number {
  let n = 0;
  for (const v of params.values()) if (v.trainable) n += v.size;
  return n;
}

export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
}
