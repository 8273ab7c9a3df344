// The official criteria: GANLoss (lsgan = MSE against a target of 1 or 0,
// vanilla = BCEWithLogits), and L1 for cycle, identity and pix2pix's L1 term.
// Every loss is a mean over all elements, as PyTorch's default reduction.
import * as tf from '@tensorflow/tfjs-core';
import type { GanMode } from '../options/options';

export function ganLoss(mode: GanMode, prediction: tf.Tensor, targetIsReal: boolean): tf.Scalar {
  return tf.tidy(() => {
    const t = targetIsReal ? 1 : 0;
    if (mode === 'lsgan') return tf.mean(tf.square(tf.sub(prediction, t)));
    // BCEWithLogits, the numerically stable form: max(x, 0) - x t + log(1 + exp(-|x|))
    const x = prediction;
    const loss = tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
    return tf.mean(loss);
  });
}

export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))));
}
