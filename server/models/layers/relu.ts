// ReLU and LeakyReLU whose gradients are one native op each on tfjs-node
// (ReluGrad, LeakyReluGrad); elsewhere the same values as tfjs's own
// gradients: dy·(x > 0), and dy where x > 0, else alpha·dy.
import * as tf from '@tensorflow/tfjs-core';
import { LEAKY_RELU_GRAD, RELU_GRAD, hasKernel } from './nativeKernels';

/** value(x), whose gradient is the native kernel `nativeGrad` of (dy, x) where the backend has it, else portableGrad. */
function activation(x: tf.Tensor4D, value: (x: tf.Tensor4D) => tf.Tensor4D, nativeGrad: string, attrs: tf.NamedAttrMap, portableGrad: (dy: tf.Tensor4D, x: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args) => {
    const [x4, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([x4]);
    return {
      value: value(x4),
      gradFunc: (dy, saved) => {
        const [xs] = saved as [tf.Tensor4D];
        if (hasKernel(nativeGrad)) return tf.engine().runKernel(nativeGrad, { dy, x: xs }, attrs) as tf.Tensor4D;
        return portableGrad(dy as tf.Tensor4D, xs);
      },
    };
  });
  return op(x);
}

export function relu(x: tf.Tensor4D): tf.Tensor4D {
  return activation(x, tf.relu, RELU_GRAD, {}, (dy, xs) => tf.mul(dy, tf.cast(tf.greater(xs, 0), 'float32')) as tf.Tensor4D);
}

export function leakyRelu(x: tf.Tensor4D, alpha: number): tf.Tensor4D {
  return activation(x, (v) => tf.leakyRelu(v, alpha), LEAKY_RELU_GRAD, { alpha }, (dy, xs) => tf.where(tf.greater(xs, 0), dy, tf.mul(dy, alpha)) as tf.Tensor4D);
}

/** z > 0 ? z : slope·z: identity at 1, ReLU at 0, else LeakyReLU. */
export function activate(x: tf.Tensor4D, slope: number): tf.Tensor4D {
  return slope === 1 ? x : slope === 0 ? relu(x) : leakyRelu(x, slope);
}
