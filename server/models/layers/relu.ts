// ReLU and LeakyReLU whose gradients are one native op each on tfjs-node
// (ReluGrad, LeakyReluGrad); elsewhere the same values as tfjs's own
// gradients: dy·(x > 0), and dy where x > 0, else alpha·dy.
import * as tf from '@tensorflow/tfjs-core';
import { LEAKY_RELU_GRAD, RELU_GRAD, hasKernel } from './nativeKernels';

export function relu(x: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args) => {
    const [x4, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([x4]);
    return {
      value: tf.relu(x4),
      gradFunc: (dy, saved) => {
        const [xs] = saved as [tf.Tensor4D];
        if (hasKernel(RELU_GRAD)) return tf.engine().runKernel(RELU_GRAD, { dy, x: xs }, {}) as tf.Tensor4D;
        return tf.mul(dy, tf.cast(tf.greater(xs, 0), 'float32'));
      },
    };
  });
  return op(x);
}

export function leakyRelu(x: tf.Tensor4D, alpha: number): tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args) => {
    const [x4, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([x4]);
    return {
      value: tf.leakyRelu(x4, alpha),
      gradFunc: (dy, saved) => {
        const [xs] = saved as [tf.Tensor4D];
        if (hasKernel(LEAKY_RELU_GRAD)) return tf.engine().runKernel(LEAKY_RELU_GRAD, { dy, x: xs }, { alpha } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        return tf.where(tf.greater(xs, 0), dy, tf.mul(dy, alpha));
      },
    };
  });
  return op(x);
}
