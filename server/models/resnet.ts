// ResnetGenerator of the official code: reflect-pad conv7, two stride-2 convs,
// n residual blocks (no ReLU after the add), two transposed convs, conv7 + tanh.
import * as tf from '@tensorflow/tfjs-core';
import { type ForwardMode, convAt, convNormAt, convTransposeNormAt } from './blocks';
import { dropout } from './layers/dropout';
import { reflectPad } from './layers/reflectPad';
import { resnetBlockIndices, resnetIndices } from './layout';
import type { Params } from './params';
import { type GeneratorSpec, resnetBlocks } from './spec';

// normAt's activation slopes
const RELU = 0;
const NONE = 1;

export function forward(spec: GeneratorSpec, params: Params, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
  const conv = (key: string, t: tf.Tensor4D, stride: number, pad: number, normKey: string, slope: number) =>
    convNormAt(params, key, t, { stride, pad }, normKey, spec.norm, mode, slope);
  const n = resnetBlocks(spec);
  const idx = resnetIndices(n);
  const blk = resnetBlockIndices(spec.useDropout);

  let h = conv('model.1', reflectPad(x, 3), 1, 0, 'model.2', RELU);
  h = conv('model.4', h, 2, 1, 'model.5', RELU);
  h = conv('model.7', h, 2, 1, 'model.8', RELU);
  for (let i = 0; i < n; i++) {
    const p = `model.${idx.firstBlock + i}.conv_block`;
    let y = conv(`${p}.${blk.conv1}`, reflectPad(h, 1), 1, 0, `${p}.${blk.norm1}`, RELU);
    if (spec.useDropout) y = dropout(y, mode.training, 0.5, mode.dropoutSeed === undefined ? undefined : mode.dropoutSeed + i);
    y = conv(`${p}.${blk.conv2}`, reflectPad(y, 1), 1, 0, `${p}.${blk.norm2}`, NONE);
    h = tf.add(h, y);
  }
  const up = { stride: 2, pad: 1, outputPadding: 1 };
  h = convTransposeNormAt(params, `model.${idx.up1}`, h, up, `model.${idx.up1 + 1}`, spec.norm, mode, RELU);
  h = convTransposeNormAt(params, `model.${idx.up2}`, h, up, `model.${idx.up2 + 1}`, spec.norm, mode, RELU);
  return tf.tanh(convAt(params, `model.${idx.last}`, reflectPad(h, 3), { stride: 1, pad: 0 }));
}
