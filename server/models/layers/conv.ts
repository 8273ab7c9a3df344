// Convolutions with gradients every backend can compute. tfjs-node's
// Conv2DBackpropInput/Filter accept only 'valid'/'same' padding, and the wasm
// backend has no Conv2DBackpropFilter at all, so both ops below have their own
// gradient: input gradients use 'valid' kernels on the zero-padded shape. Each
// gradient has several exact formulations whose speed depends on the shapes;
// chooseFilterGrad/chooseInputGrad pick one per layer from measured timings.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no op gradients itself (the umbrella package does); training on wasm/cpu needs them
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { fastest } from './fastest';
import { IMAGE_PATCHES, dtConvToOne, dtRotateFilter, dtShiftSum, dtShiftSumGrad, gemmConvs, gemmFilterGrad, gemmInputGrad, hasDtKernels, hasKernel, hasOneDnn, oneDnnFilterGrad, oneDnnInputGrad, splitConvs, splitFilterGrad, splitInputGrad } from './nativeKernels';

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

type Shape4 = [number, number, number, number];

/** Filters with this many output channels or fewer (the last conv to RGB, PatchGAN's to 1) get forward-op gradients. */
const FEW_OUTPUT_CHANNELS = 4;

/** dW as one matMul of the im2col patches with dy: no per-pixel work, so it wins on small maps. */
function filterGradByPatches(input: tf.Tensor4D, outGrad: tf.Tensor4D, filterShape: Shape4, stride: number): tf.Tensor4D {
  const [kh, kw, c, o] = filterShape;
  return tf.tidy(() => {
    const patches = tf.engine().runKernel(IMAGE_PATCHES, { x: input }, { kh, kw, stride } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const m = outGrad.shape[0] * outGrad.shape[1] * outGrad.shape[2];
    return tf.reshape(tf.matMul(tf.reshape(patches, [m, kh * kw * c]), tf.reshape(outGrad, [m, o]), true, false), filterShape);
  });
}

function filterGradNative(input: tf.Tensor4D, outGrad: tf.Tensor4D, filterShape: Shape4, stride: number): tf.Tensor4D {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x: input, dy: outGrad }, {
    strides: [stride, stride],
    pad: 'valid',
    dataFormat: 'NHWC',
    dimRoundingMode: undefined as unknown as string,
    filterShape,
  }) as tf.Tensor4D;
}

/**
 * A stride-2 weight gradient as a stride-1 one: each 2x2 block of the input
 * becomes 4 channels (space to depth), the kernel ⌈k/2⌉ x ⌈k/2⌉ over 4·c
 * channels, then unfolded back (k = 3 is computed as 4 with the extra row and
 * column dropped). TF's stride-2 kernel runs at ~100 GFLOP/s; this at ~140
 * (130x130x64 -> 64x64x128, 4x4: 10 vs 13 ms).
 */
function filterGradBySpaceToDepth(input: tf.Tensor4D, outGrad: tf.Tensor4D, filterShape: Shape4): tf.Tensor4D {
  const [kh, kw, c, o] = filterShape;
  const [n, h, w] = input.shape;
  const [, oh, ow] = outGrad.shape;
  const bh = Math.ceil(kh / 2);
  const bw = Math.ceil(kw / 2);
  return tf.tidy(() => {
    // exactly the rows and columns the blocks cover: cropped, or zero rows that only meet the dropped kernel row
    const hh = 2 * (oh - 1 + bh);
    const ww = 2 * (ow - 1 + bw);
    const fitted = tf.pad(tf.slice(input, [0, 0, 0, 0], [n, Math.min(h, hh), Math.min(w, ww), c]), [[0, 0], [0, Math.max(0, hh - h)], [0, Math.max(0, ww - w)], [0, 0]]);
    const blocks = tf.reshape(tf.transpose(tf.reshape(fitted, [n, hh / 2, 2, ww / 2, 2, c]), [0, 1, 3, 2, 4, 5]), [n, hh / 2, ww / 2, 4 * c]) as tf.Tensor4D;
    const g = filterGradByForwardOps(blocks, outGrad, bh, bw, 1);
    const unfolded = tf.reshape(tf.transpose(tf.reshape(g, [bh, bw, 2, 2, c, o]), [0, 2, 1, 3, 4, 5]), [2 * bh, 2 * bw, c, o]);
    return 2 * bh === kh && 2 * bw === kw ? unfolded : tf.slice(unfolded, [0, 0, 0, 0], filterShape);
  }) as tf.Tensor4D;
}

/**
 * The input rows/columns a strided 'valid' convolution reads: (out - 1)·s + k.
 * oneDNN's gradients get exactly that many: with a stride-2 1x1 kernel and a
 * longer input its input gradient writes out of bounds (heap corruption, seen).
 */
function readExtent(outSide: number, k: number, stride: number): number {
  return (outSide - 1) * stride + k;
}

function filterGradByOneDnn(input: tf.Tensor4D, outGrad: tf.Tensor4D, filterShape: Shape4, stride: number): tf.Tensor4D {
  const [n, h, w, c] = input.shape;
  const [, oh, ow] = outGrad.shape;
  const rh = readExtent(oh, filterShape[0], stride);
  const rw = readExtent(ow, filterShape[1], stride);
  return tf.tidy(() => {
    const x = rh === h && rw === w ? input : tf.slice(input, [0, 0, 0, 0], [n, rh, rw, c]);
    return oneDnnFilterGrad(x, outGrad, filterShape, stride, false);
  });
}

function inputGradByOneDnn(dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: Shape4, stride: number): tf.Tensor4D {
  const [n, h, wd, c] = inputShape;
  const [, oh, ow] = dy.shape;
  const rh = readExtent(oh, w.shape[0], stride);
  const rw = readExtent(ow, w.shape[1], stride);
  return tf.tidy(() => {
    const dx = oneDnnInputGrad(dy, w, [n, rh, rw, c], stride, false);
    // rows and columns the convolution never read get no gradient
    return rh === h && rw === wd ? dx : tf.pad(dx, [[0, 0], [0, h - rh], [0, wd - rw], [0, 0]]);
  });
}

/** The ways to compute a 'valid' convolution's weight gradient; all give the same values up to float rounding. spaceToDepth is for stride 2 only. */
export const FILTER_GRADS = {
  native: filterGradNative,
  forwardOps: (input: tf.Tensor4D, outGrad: tf.Tensor4D, filterShape: Shape4, stride: number) => filterGradByForwardOps(input, outGrad, filterShape[0], filterShape[1], stride),
  patches: filterGradByPatches,
  spaceToDepth: filterGradBySpaceToDepth,
  oneDnn: filterGradByOneDnn,
  /** TF's kernel on a range of output rows per core (native/dt_split_conv.cc), where splitConvs(). */
  split: splitFilterGrad,
  /** patchesᵀ·dy in our FMA kernel (native/dt_gemm_conv.cc), where gemmConvs(). */
  gemm: gemmFilterGrad,
};

const weights = ([kh, kw, c, o]: Shape4) => kh * kw * c * o;

/**
 * oneDNN's weight gradient, where it was faster in nearly every layer timed
 * (each gradient of the benchmark networks' steps, against the formulation
 * chosen before): 2-4x on the 7x7 conv from RGB and PatchGAN's last conv
 * (134x134x3 -> 128x128x32: 2.1 vs 9.7 ms), 25-40% on the ResNet blocks' 3x3
 * convs and PatchGAN's 4x4 ones; ResNet's 3x3 stride-2 convs since the
 * native kernels (130x130x32 -> 64x64x64: 2.2-4.0 vs 3.1-5.4 ms; CycleGAN 64 px
 * 0.29-0.32 vs 0.30-0.34 s/it in alternating runs). Not for weights over 4M
 * values (the U-Net's 512 -> 1024 layers: 1.3-2x slower, oneDNN reorders the
 * weights). One channel in and out is left out as for the input gradient,
 * which oneDNN gets wrong there.
 */
function useOneDnnFilterGrad(filterShape: Shape4): boolean {
  const [, , c, o] = filterShape;
  return hasOneDnn() && c * o > 1 && weights(filterShape) <= 4 * 1024 * 1024;
}

/**
 * oneDNN's input gradient (and transposed-conv forward pass), where faster:
 * stride 1 with fewer than 2M weights (ResNet blocks 10-40%, the 7x1 convs of
 * conv2dFewOutputs 2-3x), 4x4 stride 2 into ≥ 64 channels with ≤ 2M weights
 * (U-Net and PatchGAN middle layers: 32x32x512 -> 66x66x128 8.7 vs 13.9 ms).
 * Not into few channels (the image: 1.3x slower at 256 px), not from few
 * output channels, not for 3x3 stride 2.
 */
function useOneDnnInputGrad(filterShape: Shape4, stride: number): boolean {
  const [kh, , c, o] = filterShape;
  if (!hasOneDnn() || c <= FEW_OUTPUT_CHANNELS) return false;
  if (stride === 1) return o > FEW_OUTPUT_CHANNELS && weights(filterShape) < 2 * 1024 * 1024;
  return stride === 2 && kh === 4 && c >= 64 && weights(filterShape) <= 2 * 1024 * 1024;
}

/**
 * The fastest weight gradient for these shapes on this backend, from timings of
 * every layer of the four benchmark networks (2-core AVX-512 EPYC, tfjs-node):
 * - few output channels (final conv to RGB, PatchGAN's last conv): TF's kernel
 *   is 10-50x slower than forward ops (17 s vs 0.9 s at 256 px);
 * - small maps (≤ 64 output pixels, the U-Net's inner layers with 512-1024
 *   channels): patches·dy is 1.5-30x faster (6x6x512 → 2x2x1024: 3 ms vs 99 ms);
 * - stride 1 with ≥ 0.25 GFLOP: forward ops 10-25% faster (34x34x128, 3x3: 5.4 vs 6.8 ms);
 * - stride 2, 4x4, ≥ 64 input channels: space to depth, 25-30% faster
 *   (66x66x128 → 32x32x256: 10 vs 15 ms); for 3x3 kernels it was slower;
 * - otherwise (stride 2 on large maps) TF's kernel.
 */
export function chooseFilterGrad(outGradShape: Shape4, filterShape: Shape4, stride: number): keyof typeof FILTER_GRADS {
  if (useOneDnnFilterGrad(filterShape)) return 'oneDnn';
  if (!hasNativeFilterGrad() || filterShape[3] <= FEW_OUTPUT_CHANNELS) return 'forwardOps';
  const [n, oh, ow] = outGradShape;
  if (!hasKernel(IMAGE_PATCHES)) return 'native';
  if (n * oh * ow <= 64) return 'patches';
  const gflop = (2 * n * oh * ow * filterShape[0] * filterShape[1] * filterShape[2] * filterShape[3]) / 1e9;
  if (stride === 1) return gflop >= 0.25 ? 'forwardOps' : 'native';
  return stride === 2 && filterShape[0] === 4 && filterShape[1] === 4 && filterShape[2] >= 64 ? 'spaceToDepth' : 'native';
}

/**
 * dW of a convolution of x zero-padded by `pad` on every side: the rules'
 * formulation, and with the split kernels the faster of it and them on this
 * machine. `same`: TF's 'same' padding is that padding, so oneDNN can pad by
 * itself (no padded copy of x).
 */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, stride: number, pad = 0, same = false): tf.Tensor4D {
  const chosen = chooseFilterGrad(dy.shape, filterShape, stride);
  const candidates: (keyof typeof FILTER_GRADS | 'oneDnnSame')[] = [same && chosen === 'oneDnn' ? 'oneDnnSame' : chosen];
  if (splitConvs() && chosen !== 'forwardOps') candidates.push('split');
  if (gemmConvs()) candidates.push('gemm');
  return fastest(`dW ${x.shape} pad ${pad}${same ? ' same' : ''} ${dy.shape} ${filterShape} ${stride}`, candidates, (c) => {
    if (c === 'oneDnnSame') return oneDnnFilterGrad(x, dy, filterShape, stride, true);
    // the padding's zeros gathered, not copied in
    if (c === 'gemm') return gemmFilterGrad(x, dy, filterShape, stride, pad);
    return tf.tidy(() => FILTER_GRADS[c](zeroPad(x, pad), dy, filterShape, stride));
  });
}

/** For each row (output pixel, tap i, tap j) of the column matrix, the input pixel it lands on. */
const landingCache = new Map<string, Int32Array>();
function landingPixels(n: number, h: number, w: number, oh: number, ow: number, kh: number, kw: number, stride: number): Int32Array {
  const key = [n, h, w, oh, ow, kh, kw, stride].join(',');
  let ids = landingCache.get(key);
  if (!ids) {
    ids = new Int32Array(n * oh * ow * kh * kw);
    let r = 0;
    for (let b = 0; b < n; b++)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++)
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) ids[r++] = (b * h + y * stride + i) * w + x * stride + j;
    landingCache.set(key, ids);
  }
  return ids;
}

/**
 * dx as columns W·dyᵀ (one matMul, laid out so the weights stream once), then
 * col2im as one segment sum. On small maps with many channels TF's kernel
 * spends its time on the weights, not the pixels (2x2x1024 → 6x6x512: 3.3 ms vs 47 ms).
 */
function inputGradByColumns(dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: Shape4, stride: number): tf.Tensor4D {
  const [kh, kw, c, o] = w.shape;
  const [n, oh, ow] = dy.shape;
  const [, h, wd] = inputShape;
  const m = n * oh * ow;
  return tf.tidy(() => {
    const colsT = tf.matMul(tf.reshape(w, [kh * kw * c, o]), tf.reshape(dy, [m, o]), false, true);
    const cols = tf.reshape(tf.transpose(tf.reshape(colsT, [kh * kw, c, m]), [2, 0, 1]), [m * kh * kw, c]);
    const ids = tf.tensor1d(landingPixels(n, h, wd, oh, ow, kh, kw, stride), 'int32');
    return tf.reshape(tf.unsortedSegmentSum(cols, ids, n * h * wd), inputShape);
  });
}

/**
 * A stride-1 'valid' convolution into ≤ 4 channels as one convolution with a
 * kh x 1 kernel into kw·o channels, then the kw column shifts summed: TF packs
 * a kh·kw·c patch per pixel for only o outputs, and that packing is the cost
 * (final 7x7 conv to RGB, 3x134x134x32: 7.6 vs 16 ms; 262x262x64: 15 vs 40 ms).
 * The shifted sum is one native op each way where the native kernels run, else
 * kw slices and their sum (and kw pads and kw - 1 additions for the gradient).
 */
function conv2dFewOutputs(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, c, o] = w.shape;
  const [n, h, wd] = x.shape;
  return tf.tidy(() => {
    const columns = tf.reshape(tf.transpose(w, [0, 2, 1, 3]), [kh, 1, c, kw * o]) as tf.Tensor4D;
    const z = tf.conv2d(x, columns, 1, 'valid');
    if (hasDtKernels()) {
      const shiftSum = tf.customGrad<tf.Tensor4D>((zIn) => ({ value: dtShiftSum(zIn as tf.Tensor4D, kw), gradFunc: (dy) => dtShiftSumGrad(dy, kw) }));
      return shiftSum(z);
    }
    const ow = wd - kw + 1;
    return tf.addN(Array.from({ length: kw }, (_, j) => tf.slice(z, [0, 0, j, j * o], [n, h - kh + 1, ow, o]))) as tf.Tensor4D;
  });
}

/** Whether a stride-1 'valid' conv with this filter goes through conv2dFewOutputs (tfjs-node only: measured there). */
function fewOutputs(w: tf.Tensor4D, stride: number): boolean {
  return stride === 1 && w.shape[3] <= FEW_OUTPUT_CHANNELS && w.shape[1] > 1 && tf.getBackend() === 'tensorflow';
}

/**
 * Whether a conv goes to our kernels for one output channel (PatchGAN's last
 * layer, 31x31x512 -> 30x30x1 in pix2pix). Against the best of the
 * matrix-product kernels (fastest()) in a pix2pix step (bench/profile.ts), per
 * call: forward 2.1 -> 0.8 ms, input gradient 0.7 -> 1.0, weight gradient with
 * its padded copy of x 5.1 -> 1.0.
 */
function toOne(w: tf.Tensor4D, stride: number): boolean {
  return stride === 1 && w.shape[3] === 1 && gemmConvs();
}

/**
 * A stride-1 input gradient as the forward convolution of the zero-padded dy
 * with the rotated, transposed filter. `crop` rows and columns off each side
 * (the forward pass's zero padding) are left out by padding dy that much less,
 * instead of computed and sliced off.
 */
function inputGradByForwardConv(dy: tf.Tensor4D, w: tf.Tensor4D, crop = 0): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [kh - 1 - crop, kh - 1 - crop], [kw - 1 - crop, kw - 1 - crop], [0, 0]];
  return tf.tidy(() => {
    const rotated = hasDtKernels() ? dtRotateFilter(w) : (tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
    if (fewOutputs(rotated, 1)) return conv2dFewOutputs(tf.pad(dy, pads), rotated);
    return tf.conv2d(dy, rotated, 1, pads);
  });
}

/** The ways to compute a 'valid' convolution's input gradient; all give the same values up to float rounding. */
export const INPUT_GRADS = {
  native: (dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: Shape4, stride: number) => tf.conv2dTranspose(dy, w, inputShape, stride, 'valid'),
  /** `crop`: the dx of the input without that much zero padding on each side (crop < kh, kw). */
  forwardConv: (dy: tf.Tensor4D, w: tf.Tensor4D, _inputShape?: Shape4, _stride?: number, crop = 0) => inputGradByForwardConv(dy, w, crop),
  columns: inputGradByColumns,
  oneDnn: inputGradByOneDnn,
  /** TF's kernel on a range of dy's rows per core, where splitConvs(). */
  split: splitInputGrad,
  /** By phases of our FMA kernel (native/dt_gemm_conv.cc), where gemmConvs(). */
  gemm: (dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: Shape4, stride: number) => gemmInputGrad(dy, w, inputShape, stride),
};

/**
 * The fastest input gradient (and conv-transpose forward pass) for these shapes:
 * - many channels (≥ 256) into a map of ≤ 16x16: columns, 1.2-14x faster;
 * - stride 1 on maps of 32x32 and more, or into few channels: the forward conv
 *   (256x256x64 from 3 channels: 31 ms vs 3.7 s; 3x128x128x64: 17 vs 20 ms);
 * - otherwise TF's Conv2DBackpropInput, faster on small maps.
 */
export function chooseInputGrad(dyShape: Shape4, filterShape: Shape4, stride: number): keyof typeof INPUT_GRADS {
  if (useOneDnnInputGrad(filterShape, stride)) return 'oneDnn';
  const [, oh, ow, o] = dyShape;
  if (hasKernel(IMAGE_PATCHES) && o >= 256 && oh * ow <= 256) return 'columns';
  if (stride !== 1 || (oh * ow < 32 * 32 && filterShape[3] > FEW_OUTPUT_CHANNELS)) return 'native';
  return 'forwardConv';
}

/** dx of `inputShape` of a convolution of x zero-padded by `pad`, chosen as filterGrad's dW. */
function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: Shape4, stride: number, pad = 0, same = false): tf.Tensor4D {
  const [n, h, wd, c] = inputShape;
  const padded: Shape4 = [n, h + 2 * pad, wd + 2 * pad, c];
  const chosen = chooseInputGrad(dy.shape, w.shape, stride);
  const candidates: (keyof typeof INPUT_GRADS | 'oneDnnSame')[] = [same && chosen === 'oneDnn' ? 'oneDnnSame' : chosen];
  const split: (keyof typeof INPUT_GRADS)[] = stride === 1 ? ['split', 'forwardConv'] : ['split'];
  if (splitConvs()) candidates.push(...split.filter((k) => k !== chosen));
  // At stride 2 only from ≤ 64 pixels of dy (the U-Net's inner layers), where its phases are few pixels and the
  // cores split the filter's columns (WideGemm). On larger maps it ran as fast as oneDNN's alone (4x4, 66x66x128
  // -> 256: 9.6-10.0 ms against 9.5-9.7) but made pix2pix steps slower in place (bench/ab.ts: 1532.1 ms with it at
  // stride 2, 1435.1 without, 11 of 12 pairs).
  if (gemmConvs() && (stride === 1 || dy.shape[0] * dy.shape[1] * dy.shape[2] <= 64)) candidates.push('gemm');
  return fastest(`dx ${inputShape} pad ${pad}${same ? ' same' : ''} ${dy.shape} ${w.shape} ${stride}`, candidates, (k) => {
    if (k === 'oneDnnSame') return oneDnnInputGrad(dy, w, inputShape, stride, true);
    // the padding's rows and columns are left out, not computed and sliced off
    if (k === 'gemm') return gemmInputGrad(dy, w, inputShape, stride, pad);
    if (k === 'forwardConv' && pad < Math.min(w.shape[0], w.shape[1])) return INPUT_GRADS.forwardConv(dy, w, inputShape, stride, pad);
    return tf.tidy(() => {
      const dxp = INPUT_GRADS[k](dy, w, padded, stride);
      return pad === 0 ? dxp : tf.slice(dxp, [0, pad, pad, 0], inputShape);
    });
  });
}

/** Whether TF's 'same' padding reads the rows PyTorch's zero padding `pad` does: the same output size and top rows. */
function sameIsPad(side: number, k: number, stride: number, pad: number): boolean {
  const out = Math.ceil(side / stride);
  return out === Math.floor((side + 2 * pad - k) / stride) + 1 && Math.floor(((out - 1) * stride + k - side) / 2) === pad;
}

/**
 * The gradient of every Conv2D kernel, replacing tfjs-core's (which supports
 * only 'valid'/'same' padding and needs Conv2DBackpropFilter, absent on wasm).
 * A registered gradient gives the tape one function per input and the tape
 * calls only those it needs: no dx for a network's input image, no dW for a
 * frozen network (D during the G step), which a customGrad computes anyway.
 */
const CONV2D_GRAD: tf.GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, w] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, dilations, dataFormat } = attrs as unknown as { strides: number | [number, number]; pad: unknown; dilations: number | [number, number]; dataFormat: string };
    const stride = typeof strides === 'number' ? strides : strides[0];
    const p = pad === 'valid' ? 0 : Array.isArray(pad) ? (pad as number[][])[1][0] : typeof pad === 'number' ? pad : NaN;
    const square = (v: number | [number, number]) => typeof v === 'number' || v[0] === v[1];
    if (!Number.isFinite(p) || dataFormat !== 'NHWC' || !square(strides) || (dilations !== undefined && dilations !== 1 && !(Array.isArray(dilations) && dilations.every((d) => d === 1)))) {
      throw new Error(`conv2d gradient: unsupported attributes ${JSON.stringify(attrs)}`);
    }
    const d = dy as tf.Tensor4D;
    // oneDNN pads by itself where 'same' is this padding: no padded copy of x, no cropped copy of dx
    const same = p > 0 && sameIsPad(x.shape[1], w.shape[0], stride, p) && sameIsPad(x.shape[2], w.shape[1], stride, p);
    return {
      x: () => inputGrad(d, w, x.shape, stride, p, same),
      filter: () => filterGrad(x, d, w.shape, stride, p, same),
    };
  },
};

/** PyTorch Conv2d in NHWC: x [N,H,W,Cin], w [kh,kw,Cin,Cout], optional bias [Cout]. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, { stride, pad }: ConvOptions, bias?: tf.Tensor1D): tf.Tensor4D {
  // checked at each call: loading tfjs-node (the umbrella package) registers tfjs-core's gradients again
  if (tf.getGradient('Conv2D') !== CONV2D_GRAD) tf.registerGradient(CONV2D_GRAD);
  const padding = pad === 0 ? 'valid' : ([[0, 0], [pad, pad], [pad, pad], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
  const y = toOne(w, stride) ? dtConvToOne(x, w, pad) : pad === 0 && fewOutputs(w, stride) ? conv2dFewOutputs(x, w) : tf.conv2d(x, w, stride, padding);
  return bias ? tf.add(y, bias) : y;
}

/**
 * PyTorch ConvTranspose2d in NHWC: x [N,H,W,Cin], w [kh,kw,Cout,Cin] (PyTorch's [Cin,Cout,kh,kw]
 * permuted [2,3,1,0]), optional bias [Cout]. Output side (H-1)·s - 2p + k + output_padding.
 * It is the input gradient of the convolution it transposes, of an input of the
 * output's size zero-padded by p: computed as that, the padding's rows and
 * columns left out (no full-size result cropped), and differentiated as that
 * convolution (dx) and its weight gradient (dW).
 */
export function convTranspose2d(x: tf.Tensor4D, w: tf.Tensor4D, { stride, pad, outputPadding }: ConvTransposeOptions, bias?: tf.Tensor1D): tf.Tensor4D {
  if (outputPadding > pad) throw new Error(`output_padding ${outputPadding} > padding ${pad} is not supported`);
  const [n, h, wd] = x.shape;
  const [kh, kw, cOut] = w.shape;
  const outShape: Shape4 = [n, (h - 1) * stride - 2 * pad + kh + outputPadding, (wd - 1) * stride - 2 * pad + kw + outputPadding, cOut];
  const same = pad > 0 && sameIsPad(outShape[1], kh, stride, pad) && sameIsPad(outShape[2], kw, stride, pad);
  const op = tf.customGrad<tf.Tensor4D>((...args) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: inputGrad(x4, w4, outShape, stride, pad, same),
      gradFunc: (dy4, saved) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [conv2d(dy4 as tf.Tensor4D, ws, { stride, pad }), filterGrad(dy4 as tf.Tensor4D, xs, ws.shape, stride, pad, same)];
      },
    };
  });
  const y = op(x, w);
  return bias ? tf.add(y, bias) : y;
}
