// PyTorch ReflectionPad2d with a correct gradient. tfjs-core's MirrorPad gradient
// only slices the centre of dy, dropping what the reflected border rows and
// columns contributed; here they are folded back onto the rows they copy.
// With native/dt_kernels.cc both directions run on all cores (TF's MirrorPad
// and MirrorPadGrad on one, at ~3 GB/s).
import * as tf from '@tensorflow/tfjs-core';
import { MIRROR_PAD_GRAD, dtReflectPad, dtReflectPadGrad, hasDtKernels, hasKernel } from './nativeKernels';

/** Folds dy (size n+2p along `axis`) back to size n: centre + mirrored borders. */
function foldAxis(dy: tf.Tensor4D, axis: 1 | 2, p: number, n: number): tf.Tensor4D {
  const part = (start: number, size: number) => {
    const begin = [0, 0, 0, 0];
    const sizes = [-1, -1, -1, -1];
    begin[axis] = start;
    sizes[axis] = size;
    return tf.slice(dy, begin, sizes);
  };
  const padAlong = (t: tf.Tensor4D, before: number, after: number) => {
    const paddings: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
    paddings[axis] = [before, after];
    return tf.pad(t, paddings);
  };
  // padded row i < p copies row p - i; padded row p + n + k copies row n - 2 - k
  const head = padAlong(tf.reverse(part(0, p), axis), 1, n - 1 - p);
  const tail = padAlong(tf.reverse(part(p + n, p), axis), n - 1 - p, 1);
  return tf.addN([part(p, n), head, tail]);
}

/** Reflection padding of `p` on the four spatial sides of an NHWC tensor; needs p < H and p < W. */
export function reflectPad(x: tf.Tensor4D, p: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (p >= h || p >= w) throw new Error(`reflection padding ${p} needs sides larger than ${p}, got ${h}x${w}`);
  if (hasDtKernels()) {
    const native = tf.customGrad<tf.Tensor4D>((xIn) => ({ value: dtReflectPad(xIn as tf.Tensor4D, p), gradFunc: (dy) => dtReflectPadGrad(dy, p) }));
    return native(x);
  }
  const op = tf.customGrad<tf.Tensor4D>((xIn) => ({
    value: tf.mirrorPad(xIn as tf.Tensor4D, [[0, 0], [p, p], [p, p], [0, 0]], 'reflect'),
    gradFunc: (dy) => (hasKernel(MIRROR_PAD_GRAD) ? (tf.engine().runKernel(MIRROR_PAD_GRAD, { dy }, { pad: p }) as tf.Tensor4D) : foldAxis(foldAxis(dy, 1, p, h), 2, p, w)),
  }));
  return op(x);
}
