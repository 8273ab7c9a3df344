import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no op gradients itself (the umbrella package does); training on wasm/cpu needs them
import '@tensorflow/tfjs-core/dist/register_all_gradients';

/** nn.Dropout(0.5): in train mode zero each value with probability `rate` and scale the rest by 1/(1-rate). */
export function dropout(x: tf.Tensor4D, training: boolean, rate = 0.5, seed?: number): tf.Tensor4D {
  return training ? (tf.dropout(x, rate, undefined, seed) as tf.Tensor4D) : x;
}
