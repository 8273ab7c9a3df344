// Convolutions with gradients every backend can compute. tfjs-node's
// Conv2DBackpropInput/Filter accept only 'valid'/'same' padding, and the wasm
// backend has no Conv2DBackpropFilter at all, so both ops below carry a custom
// gradient: input gradients use 'valid' kernels on the zero-padded shape, and
// the weight gradient uses the native kernel where one is registered, else a
// dilated forward convolution (filterGradByForwardOps).
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no op gradients itself (the umbrella package does); training on wasm/cpu needs them
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export interface ConvOptions {
  stride: number;
  /** Zero padding on every side (PyTorch `padding`). */
  pad: number;
}

export interface ConvTransposeOptions extends ConvOptions {
  /** PyTorch `output_padding`: extra rows/columns at the bottom/right. */
  outputPadding: number;
}

function zeroPad(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  return pad === 0 ? x : tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
}

/**
 * dL/dW of a 'valid' NHWC convolution of `input` producing `outGrad`, with forward
 * ops only: dW[i,j,c,o] = Σ input[n, a·s+i, b·s+j, c] · outGrad[n,a,b,o] is itself a
 * convolution of input (batch↔channels swapped) with outGrad as filter, dilated by s.
 */
export function filterGradByForwardOps(input: tf.Tensor4D, outGrad: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, , , c] = input.shape;
    const [, oh, ow, o] = outGrad.shape;
    const xt = tf.transpose(input, [3, 1, 2, 0]);
    const f = n === 1 ? tf.reshape(outGrad, [oh, ow, 1, o]) : tf.transpose(outGrad, [1, 2, 0, 3]);
    let g = tf.conv2d(xt as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid', 'NHWC', stride);
    // rows/columns the strided forward pass never reached fall beyond kh/kw
    if (g.shape[1] !== kh || g.shape[2] !== kw) g = tf.slice(g, [0, 0, 0, 0], [c, kh, kw, o]);
    return tf.transpose(g, [1, 2, 0, 3]);
  });
}

/** True when the current backend has a native weight-gradient kernel (tfjs-node, cpu; not wasm). */
export function hasNativeFilterGrad(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/**
 * TF's native Conv2DBackpropFilter is 10-50x slower than the same sums done as
 * a forward convolution when the filter has very few output channels (the
 * final conv to RGB: 17 s vs 0.9 s at 256 px; the PatchGAN's last conv to one
 * channel), and faster otherwise; both give the same values.
 */
const FEW_OUTPUT_CHANNELS = 4;

function filterGrad(input: tf.Tensor4D, outGrad: tf.Tensor4D, filterShape: [number, number, number, number], stride: number): tf.Tensor4D {
  if (!hasNativeFilterGrad() || filterShape[3] <= FEW_OUTPUT_CHANNELS) return filterGradByForwardOps(input, outGrad, filterShape[0], filterShape[1], stride);
  return tf.engine().runKernel('Conv2DBackpropFilter', { x: input, dy: outGrad }, {
    strides: [stride, stride],
    pad: 'valid',
    dataFormat: 'NHWC',
    dimRoundingMode: undefined as unknown as string,
    filterShape,
  }) as tf.Tensor4D;
}

/**
 * dL/dx of a 'valid' convolution. TF's native Conv2DBackpropInput is several
 * times slower than a forward convolution of the zero-padded dy with the
 * rotated, transposed filter (a stride-1 identity) on large maps or few output
 * channels (256x256x64 from 3 channels: 3.7 s vs 31 ms; 64x64x256: 4x); on
 * small maps it is the faster one. The two differ by float rounding only.
 */
function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: [number, number, number, number], stride: number): tf.Tensor4D {
  const [kh, kw, , cOut] = w.shape;
  if (stride !== 1 || (dy.shape[1] * dy.shape[2] < 32 * 32 && cOut > FEW_OUTPUT_CHANNELS)) return tf.conv2dTranspose(dy, w, inputShape, stride, 'valid');
  return tf.tidy(() => {
    const rotated = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(dy, rotated, 1, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]);
  });
}

/** PyTorch Conv2d in NHWC: x [N,H,W,Cin], w [kh,kw,Cin,Cout], optional bias [Cout]. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, { stride, pad }: ConvOptions, bias?: tf.Tensor1D): tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    const padding = pad === 0 ? 'valid' : ([[0, 0], [pad, pad], [pad, pad], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
    return {
      value: tf.conv2d(x4, w4, stride, padding),
      gradFunc: (dy4, saved) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const xp = zeroPad(xs, pad);
        const dxp = inputGrad(dy4, ws, xp.shape, stride);
        const [n, h, wd, c] = xs.shape;
        const dx = pad === 0 ? dxp : tf.slice(dxp, [0, pad, pad, 0], [n, h, wd, c]);
        return [dx, filterGrad(xp, dy4, ws.shape, stride)];
      },
    };
  });
  const y = op(x, w);
  return bias ? tf.add(y, bias) : y;
}

/**
 * PyTorch ConvTranspose2d in NHWC: x [N,H,W,Cin], w [kh,kw,Cout,Cin] (PyTorch's [Cin,Cout,kh,kw]
 * permuted [2,3,1,0]), optional bias [Cout]. Output side (H-1)·s - 2p + k + output_padding.
 */
export function convTranspose2d(x: tf.Tensor4D, w: tf.Tensor4D, { stride, pad, outputPadding }: ConvTransposeOptions, bias?: tf.Tensor1D): tf.Tensor4D {
  if (outputPadding > pad) throw new Error(`output_padding ${outputPadding} > padding ${pad} is not supported`);
  const [n, h, wd] = x.shape;
  const [kh, kw, cOut] = w.shape;
  // the full ('valid') transposed convolution, cropped by `pad` like PyTorch
  const fullShape: [number, number, number, number] = [n, (h - 1) * stride + kh, (wd - 1) * stride + kw, cOut];
  const op = tf.customGrad<tf.Tensor4D>((...args) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: tf.conv2dTranspose(x4, w4, fullShape, stride, 'valid'),
      gradFunc: (dy4, saved) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [tf.conv2d(dy4, ws, stride, 'valid'), filterGrad(dy4, xs, ws.shape, stride)];
      },
    };
  });
  const full = op(x, w);
  const outH = (h - 1) * stride - 2 * pad + kh + outputPadding;
  const outW = (wd - 1) * stride - 2 * pad + kw + outputPadding;
  const y = tf.slice(full, [0, pad, pad, 0], [n, outH, outW, cOut]);
  return bias ? tf.add(y, bias) : y;
}
