// PixelDiscriminator (1x1 PatchGAN) of the official code.
import * as tf from '@tensorflow/tfjs-core';
import { type ForwardMode, convAt, convNormAt } from './blocks';
import { leakyRelu } from './layers/relu';
import type { Params } from './params';
import type { DiscriminatorSpec } from './spec';

const ONE_BY_ONE = { stride: 1, pad: 0 };

export function forward(spec: DiscriminatorSpec, params: Params, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
  let h = leakyRelu(convAt(params, 'net.0', x, ONE_BY_ONE), 0.2);
  h = convNormAt(params, 'net.2', h, ONE_BY_ONE, 'net.3', spec.norm, mode, 0.2);
  return convAt(params, 'net.5', h, ONE_BY_ONE);
}
