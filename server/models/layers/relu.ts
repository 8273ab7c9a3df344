// ReLU whose gradient is one native ReluGrad op on tfjs-node; elsewhere
// dy·(x > 0), the same values as tfjs's own gradient (dy·step(x)).
import * as tf from '@tensorflow/tfjs-core';
import { RELU_GRAD, hasKernel } from './nativeKernels';

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
