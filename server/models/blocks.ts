// Layers looked up by their official state_dict prefix, shared by the networks.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no op gradients itself (the umbrella package does); training on wasm/cpu needs them
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { type ConvTransposeOptions, type ConvOptions, conv2d, convTranspose2d } from './layers/conv';
import { batchNorm, instanceNormAct, perSampleBatchNorm } from './layers/norm';
import { activate } from './layers/relu';
import type { Params } from './params';
import type { NormKind } from './spec';

/** training: BatchNorm batch statistics and active dropout (official test.py without --eval); else eval mode. */
export interface ForwardMode {
  training: boolean;
  /** Train mode only: store BatchNorm running statistics as PyTorch's forward does. Inference leaves them alone. */
  updateStats?: boolean;
  /** Train mode only: seeds the dropout masks (layer i uses seed + i), so a forward can be repeated with the same masks. */
  dropoutSeed?: number;
  /**
   * Train mode only: BatchNorm takes each sample's own statistics, so a batch of
   * N images gives what N batches of 1 give (translation batches images this way).
   */
  perSample?: boolean;
}

function param(params: Params, key: string): tf.Variable {
  const v = params.get(key);
  if (!v) throw new Error(`parameter ${key} is missing`);
  return v;
}

/** nn.Conv2d at `key` (bias if the checkpoint has one). */
export function convAt(params: Params, key: string, x: tf.Tensor4D, opts: ConvOptions): tf.Tensor4D {
  return conv2d(x, param(params, `${key}.weight`) as tf.Tensor4D, opts, params.get(`${key}.bias`) as tf.Tensor1D | undefined);
}

/**
 * `layer` (a conv or transposed conv given its weight and bias) at `convKey`,
 * then normAt at `normKey`. Before instance norm the layer's bias goes into
 * the norm op (one addition and one bias-gradient sum fewer where it runs natively).
 */
function layerNormAt(params: Params, convKey: string, layer: (w: tf.Tensor4D, bias?: tf.Tensor1D) => tf.Tensor4D, normKey: string, norm: NormKind, mode: ForwardMode, slope: number): tf.Tensor4D {
  const w = param(params, `${convKey}.weight`) as tf.Tensor4D;
  const bias = params.get(`${convKey}.bias`) as tf.Tensor1D | undefined;
  if (norm === 'instance') return instanceNormAct(layer(w), slope, bias);
  return normAt(params, normKey, layer(w, bias), norm, mode, slope);
}

/** convAt then normAt (and its activation). */
export function convNormAt(params: Params, convKey: string, x: tf.Tensor4D, opts: ConvOptions, normKey: string, norm: NormKind, mode: ForwardMode, slope = 1): tf.Tensor4D {
  return layerNormAt(params, convKey, (w, bias) => conv2d(x, w, opts, bias), normKey, norm, mode, slope);
}

/** convTransposeAt then normAt (and its activation). */
export function convTransposeNormAt(params: Params, convKey: string, x: tf.Tensor4D, opts: ConvTransposeOptions, normKey: string, norm: NormKind, mode: ForwardMode, slope = 1): tf.Tensor4D {
  return layerNormAt(params, convKey, (w, bias) => convTranspose2d(x, w, opts, bias), normKey, norm, mode, slope);
}

/** nn.ConvTranspose2d at `key`. */
export function convTransposeAt(params: Params, key: string, x: tf.Tensor4D, opts: ConvTransposeOptions): tf.Tensor4D {
  return convTranspose2d(x, param(params, `${key}.weight`) as tf.Tensor4D, opts, params.get(`${key}.bias`) as tf.Tensor1D | undefined);
}

/**
 * The norm layer at `key` (InstanceNorm2d, BatchNorm2d with keys under `key`,
 * or Identity), then the activation z > 0 ? z : slope·z (1: none, 0: ReLU,
 * 0.2: LeakyReLU), fused with the norm where the native kernels run.
 */
export function normAt(params: Params, key: string, x: tf.Tensor4D, norm: NormKind, mode: ForwardMode, slope = 1): tf.Tensor4D {
  if (norm === 'instance') return instanceNormAct(x, slope);
  return norm === 'none' ? activate(x, slope) : batchNormAt(params, key, x, mode, slope);
}

function batchNormAt(params: Params, key: string, x: tf.Tensor4D, mode: ForwardMode, slope: number): tf.Tensor4D {
  const runningMean = param(params, `${key}.running_mean`);
  const runningVar = param(params, `${key}.running_var`);
  const p = { weight: param(params, `${key}.weight`) as tf.Tensor1D, bias: param(params, `${key}.bias`) as tf.Tensor1D, runningMean: runningMean as tf.Tensor1D, runningVar: runningVar as tf.Tensor1D };
  if (mode.training && mode.perSample && x.shape[0] > 1) {
    if (mode.updateStats) throw new Error('per-sample BatchNorm statistics are for inference; they update no running statistics');
    return perSampleBatchNorm(x, p, slope);
  }
  const r = batchNorm(x, p, mode.training, mode.training && mode.updateStats === true, slope);
  if (mode.training && mode.updateStats && r.runningMean && r.runningVar) {
    runningMean.assign(r.runningMean);
    runningVar.assign(r.runningVar);
    const count = param(params, `${key}.num_batches_tracked`);
    count.assign(tf.add(count, tf.scalar(1, 'int32')));
  }
  return r.y;
}
