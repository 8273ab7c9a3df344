// ResnetGenerator of the official code: reflect-pad conv7, two stride-2 convs,
// n residual blocks (no ReLU after the add), two transposed convs, conv7 + tanh.
import * as tf from '@tensorflow/tfjs-core';
import { type ForwardMode, convAt, convTransposeAt, normAt } from './blocks';
import { dropout } from './layers/dropout';
import { relu } from './layers/relu';
import { reflectPad } from './layers/reflectPad';
import { resnetBlockIndices, resnetIndices } from './layout';
import type { Params } from './params';
import { type GeneratorSpec, resnetBlocks } from './spec';

export function forward(spec: GeneratorSpec, params: Params, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
  const norm = (key: string, t: tf.Tensor4D) => normAt(params, key, t, spec.norm, mode);
  const n = resnetBlocks(spec);
  const idx = resnetIndices(n);
  const blk = resnetBlockIndices(spec.useDropout);

  let h = relu(norm('model.2', convAt(params, 'model.1', reflectPad(x, 3), { stride: 1, pad: 0 })));
  h = relu(norm('model.5', convAt(params, 'model.4', h, { stride: 2, pad: 1 })));
  h = relu(norm('model.8', convAt(params, 'model.7', h, { stride: 2, pad: 1 })));
  for (let i = 0; i < n; i++) {
    const p = `model.${idx.firstBlock + i}.conv_block`;
    let y = relu(norm(`${p}.${blk.norm1}`, convAt(params, `${p}.${blk.conv1}`, reflectPad(h, 1), { stride: 1, pad: 0 })));
    if (spec.useDropout) y = dropout(y, mode.training, 0.5, mode.dropoutSeed === undefined ? undefined : mode.dropoutSeed + i);
    y = norm(`${p}.${blk.norm2}`, convAt(params, `${p}.${blk.conv2}`, reflectPad(y, 1), { stride: 1, pad: 0 }));
    h = tf.add(h, y);
  }
  const up = { stride: 2, pad: 1, outputPadding: 1 };
  h = relu(norm(`model.${idx.up1 + 1}`, convTransposeAt(params, `model.${idx.up1}`, h, up)));
  h = relu(norm(`model.${idx.up2 + 1}`, convTransposeAt(params, `model.${idx.up2}`, h, up)));
  return tf.tanh(convAt(params, `model.${idx.last}`, reflectPad(h, 3), { stride: 1, pad: 0 }));
}
