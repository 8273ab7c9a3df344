// NLayerDiscriminator (PatchGAN) of the official code: conv4 s2 + LeakyReLU, then
// n_layers-1 conv4 s2 + norm + LeakyReLU, one conv4 s1 + norm + LeakyReLU, and a
// conv4 s1 to one channel; padding 1 everywhere, no sigmoid.
import * as tf from '@tensorflow/tfjs-core';
import { type ForwardMode, convAt, convNormAt } from './blocks';
import { leakyRelu } from './layers/relu';
import { patchganChannels, patchganConvIndex } from './layout';
import type { Params } from './params';
import type { DiscriminatorSpec } from './spec';

export function forward(spec: DiscriminatorSpec, params: Params, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
  const convs = patchganChannels(spec).length;
  let h = x;
  for (let i = 0; i < convs; i++) {
    const idx = patchganConvIndex(i);
    const opts = { stride: i < spec.nLayers ? 2 : 1, pad: 1 };
    if (i === convs - 1) h = convAt(params, `model.${idx}`, h, opts);
    else if (i === 0) h = leakyRelu(convAt(params, `model.${idx}`, h, opts), 0.2);
    else h = convNormAt(params, `model.${idx}`, h, opts, `model.${idx + 1}`, spec.norm, mode, 0.2);
  }
  return h;
}
