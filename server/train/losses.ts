// The official criteria: GANLoss (lsgan = MSE against a target of 1 or 0,
// vanilla = BCEWithLogits), and L1 for cycle, identity and pix2pix's L1 term.
// Every loss is a mean over all elements, as PyTorch's default reduction, and
// each has PyTorch's gradient as one expression (2-3 kernels instead of the
// tape's gradient of every op in the loss, the step kernels of abs and relu among them).
import * as tf from '@tensorflow/tfjs-core';
import type { GanMode } from '../options/options';

export function ganLoss(mode: GanMode, prediction: tf.Tensor, targetIsReal: boolean): tf.Scalar {
  const t = targetIsReal ? 1 : 0;
  const n = prediction.size;
  const op = tf.customGrad((...args) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    // BCEWithLogits in the numerically stable form max(x, 0) - x t + log(1 + exp(-|x|))
    const value = mode === 'lsgan' ? tf.mean(tf.square(tf.sub(x, t))) : tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
    return {
      value: value as tf.Scalar,
      // MSE: 2 (x - t) / n; BCEWithLogits: (sigmoid(x) - t) / n
      gradFunc: (dy, saved) => {
        const [xs] = saved;
        return tf.mul(mode === 'lsgan' ? tf.mul(tf.sub(xs, t), 2 / n) : tf.mul(tf.sub(tf.sigmoid(xs), t), 1 / n), dy);
      },
    };
  });
  return op(prediction) as tf.Scalar;
}

/** mean |a - target|, with PyTorch's gradient sign(a - target) / n (0 where they are equal); none flows to the target. */
export function l1Loss(a: tf.Tensor, target: tf.Tensor): tf.Scalar {
  const n = a.size;
  const op = tf.customGrad((...args) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const diff = tf.sub(x, target);
    save([diff]);
    return {
      value: tf.mean(tf.abs(diff)) as tf.Scalar,
      gradFunc: (dy, saved) => tf.mul(tf.sign(saved[0]), tf.mul(dy, 1 / n)),
    };
  });
  return op(a) as tf.Scalar;
}
