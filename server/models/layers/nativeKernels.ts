// Single native TensorFlow ops that tfjs-core lacks or builds from many small
// kernels (each one a JS→native call): MirrorPadGrad (reflection padding folded
// back, 1 op instead of 12-16), ReluGrad (1 op instead of Step's 4-5),
// LeakyReluGrad (1 op instead of greater, multiply and select),
// ExtractImagePatches (im2col, for convolution gradients on small maps) and
// the fused batch norm and its gradient (1 op each instead of ~8 element-wise
// kernels), oneDNN's convolution gradients, and our own instance and batch
// norms with their activation (native/dt_kernels.cc). Registered for the 'tensorflow' backend
// only; callers check hasKernel() / hasDtKernels() and use portable ops
// elsewhere (wasm, cpu).
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { cachedKernelsFile, compileKernels, compileProblem, tfjsNodeDeps } from '../../nativeBuild';
import { fastest } from './fastest';

export const MIRROR_PAD_GRAD = 'DT_MirrorPadGrad';
export const RELU_GRAD = 'DT_ReluGrad';
export const LEAKY_RELU_GRAD = 'DT_LeakyReluGrad';
/** TF's FusedBatchNormV3 in training mode: [y, batch mean, unbiased batch variance, 3 reserve spaces for the gradient]. */
export const FUSED_NORM = 'DT_FusedBatchNorm';
/** FusedBatchNormGradV3 in training mode: [dx, dscale, doffset]. */
export const FUSED_NORM_GRAD = 'DT_FusedBatchNormGrad';
/** im2col: [n, oh, ow, kh·kw·c] patches of a 'valid' convolution, in the filter's (kh, kw, c) order. */
export const IMAGE_PATCHES = 'DT_ExtractImagePatches';

/** The parts of tfjs-node's NodeJSKernelBackend these kernels use (it runs any TF op by name). */
interface NativeBackend {
  binding: {
    TF_ATTR_TYPE: number; TF_ATTR_STRING: number; TF_ATTR_INT: number; TF_ATTR_FLOAT: number; TF_ATTR_BOOL: number; TF_FLOAT: number; TF_INT32: number;
    createTensor(shape: number[], dtype: number, values: Int32Array): number;
    executeOp(name: string, attrs: Attr[], inputIds: number[], outputs: number): unknown[];
  };
  executeSingleOutput(name: string, attrs: Attr[], inputs: tf.TensorInfo[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: Attr[], inputs: tf.TensorInfo[], count: number): tf.Tensor[];
  getInputTensorIds(tensors: tf.TensorInfo[]): number[];
  createOutputTensor(metadata: unknown): tf.Tensor;
}

type Attr = { name: string; type: number; value: unknown };

const constantIds = new Map<string, number>();
/**
 * A native int32 vector of `values`, made once per process: an argument such as
 * a gradient's output shape made from JS values at every call cost a native
 * copy each time (≈ 110 per CycleGAN step).
 */
function constantId(nb: NativeBackend, values: number[], shape = [values.length]): number {
  const key = `${shape.join('x')}:${values.join(',')}`;
  let id = constantIds.get(key);
  if (id === undefined) {
    id = nb.binding.createTensor(shape, nb.binding.TF_INT32, Int32Array.from(values));
    constantIds.set(key, id);
  }
  return id;
}

type Inputs = Record<string, tf.TensorInfo>;

/** A kernel of the 'tensorflow' backend that runs native TF ops through tfjs-node's backend. */
function registerNative<A>(kernelName: string, run: (nb: NativeBackend, inputs: Inputs, attrs: A) => tf.TensorInfo | tf.TensorInfo[]): void {
  tf.registerKernel({
    kernelName,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend, attrs }) => run(backend as unknown as NativeBackend, inputs as Inputs, attrs as unknown as A),
  });
}

registerNative<{ pad: number }>(MIRROR_PAD_GRAD, (nb, { dy }, { pad: p }) => {
  const b = nb.binding;
  const [out] = b.executeOp('MirrorPadGrad', [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'Tpaddings', type: b.TF_ATTR_TYPE, value: b.TF_INT32 },
    { name: 'mode', type: b.TF_ATTR_STRING, value: 'REFLECT' },
  ], [...nb.getInputTensorIds([dy]), constantId(nb, [0, 0, p, p, p, p, 0, 0], [4, 2])], 1);
  return nb.createOutputTensor(out);
});

registerNative(RELU_GRAD, (nb, inputs) =>
  nb.executeSingleOutput('ReluGrad', [{ name: 'T', type: nb.binding.TF_ATTR_TYPE, value: nb.binding.TF_FLOAT }], [inputs.dy, inputs.x]));

registerNative<{ alpha: number }>(LEAKY_RELU_GRAD, (nb, inputs, { alpha }) =>
  nb.executeSingleOutput('LeakyReluGrad', [
    { name: 'T', type: nb.binding.TF_ATTR_TYPE, value: nb.binding.TF_FLOAT },
    { name: 'alpha', type: nb.binding.TF_ATTR_FLOAT, value: alpha },
  ], [inputs.dy, inputs.x]));

registerNative<{ kh: number; kw: number; stride: number }>(IMAGE_PATCHES, (nb, inputs, { kh, kw, stride }) => {
  const b = nb.binding;
  return nb.executeSingleOutput('ExtractImagePatches', [
    { name: 'ksizes', type: b.TF_ATTR_INT, value: [1, kh, kw, 1] },
    { name: 'strides', type: b.TF_ATTR_INT, value: [1, stride, stride, 1] },
    { name: 'rates', type: b.TF_ATTR_INT, value: [1, 1, 1, 1] },
    { name: 'padding', type: b.TF_ATTR_STRING, value: 'VALID' },
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
  ], [inputs.x]);
});

/**
 * oneDNN's fused batch norm where this build has it (the forward and the
 * gradient always from the same implementation: their reserve spaces differ).
 * Its gradient is 2-4x faster than Eigen's (128x128x64: 1.7 vs 5+ ms).
 */
/** The label that makes TF run its oneDNN kernel of an op asked for by its _Mkl name (oneDNN's graph rewrite is off). */
function oneDnnLabel(b: NativeBackend['binding']): Attr {
  return { name: '_kernel', type: b.TF_ATTR_STRING, value: 'MklNameChangeOp' };
}

function fusedNormOp(name: 'FusedBatchNormV3' | 'FusedBatchNormGradV3'): string {
  return hasOneDnn() ? `_MklNative${name}` : name;
}

function fusedNormAttrs(b: NativeBackend['binding'], eps: number) {
  return [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'U', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: eps },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
    ...(hasOneDnn() ? [oneDnnLabel(b)] : []),
  ];
}

registerNative<{ eps: number }>(FUSED_NORM, (nb, inputs, { eps }) => {
  const empty = tf.tensor1d([], 'float32');
  const b = nb.binding;
  const out = nb.executeMultipleOutputs(fusedNormOp('FusedBatchNormV3'), [...fusedNormAttrs(b, eps), { name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: 1 }], [inputs.x, inputs.scale, inputs.offset, empty, empty], 6);
  empty.dispose();
  return out;
});

registerNative<{ eps: number }>(FUSED_NORM_GRAD, (nb, inputs, { eps }) => {
  const { dy, x, scale, r1, r2, r3 } = inputs;
  const out = nb.executeMultipleOutputs(fusedNormOp('FusedBatchNormGradV3'), fusedNormAttrs(nb.binding, eps), [dy, x, scale, r1, r2, r3], 5);
  tf.dispose(out.slice(3));
  return out.slice(0, 3);
});

const ONEDNN_INPUT_GRAD = 'DT_OneDnnConvInputGrad';
const ONEDNN_FILTER_GRAD = 'DT_OneDnnConvFilterGrad';

/**
 * TF's oneDNN convolution kernels, run by name (with the label that selects
 * them) while TF_ENABLE_ONEDNN_OPTS stays off for everything else: oneDNN's
 * forward conv into few channels is 100x slower than Eigen's, but several of
 * its gradients are 2-4x faster. They take 'valid'/'same' padding only, not explicit.
 */
function convAttrs(b: NativeBackend['binding'], stride: number, same: boolean) {
  return [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'strides', type: b.TF_ATTR_INT, value: [1, stride, stride, 1] },
    { name: 'use_cudnn_on_gpu', type: b.TF_ATTR_BOOL, value: false },
    { name: 'padding', type: b.TF_ATTR_STRING, value: same ? 'SAME' : 'VALID' },
    { name: 'explicit_paddings', type: b.TF_ATTR_INT, value: [] },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'dilations', type: b.TF_ATTR_INT, value: [1, 1, 1, 1] },
    oneDnnLabel(b),
  ];
}

interface OneDnnGradAttrs {
  /** The result's shape. */
  shape: number[];
  stride: number;
  /** TF's 'same' padding, else 'valid'. */
  same: boolean;
}

registerNative<OneDnnGradAttrs>(ONEDNN_INPUT_GRAD, (nb, { dy, filter }, { shape, stride, same }) => {
  const [out] = nb.binding.executeOp('_MklNativeConv2DBackpropInput', convAttrs(nb.binding, stride, same), [constantId(nb, shape), ...nb.getInputTensorIds([filter, dy])], 1);
  return nb.createOutputTensor(out);
});

registerNative<OneDnnGradAttrs>(ONEDNN_FILTER_GRAD, (nb, { x, dy }, { shape, stride, same }) => {
  const [xId, dyId] = nb.getInputTensorIds([x, dy]);
  const [out] = nb.binding.executeOp('_MklNativeConv2DBackpropFilter', convAttrs(nb.binding, stride, same), [xId, constantId(nb, shape), dyId], 1);
  return nb.createOutputTensor(out);
});

/** oneDNN's Conv2DBackpropInput: dx of `inputShape` for dy and the filter. Callers check hasOneDnn(). */
export function oneDnnInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], stride: number, same: boolean): tf.Tensor4D {
  const attrs: OneDnnGradAttrs = { shape: inputShape, stride, same };
  return tf.engine().runKernel(ONEDNN_INPUT_GRAD, { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** oneDNN's Conv2DBackpropFilter: dW of `filterShape` for the input x and dy. Callers check hasOneDnn(). */
export function oneDnnFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], stride: number, same: boolean): tf.Tensor4D {
  const attrs: OneDnnGradAttrs = { shape: filterShape, stride, same };
  return tf.engine().runKernel(ONEDNN_FILTER_GRAD, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

let oneDnn: boolean | undefined;
/** Whether this TensorFlow build has oneDNN's kernels (its convolution gradients tried once on a tiny convolution). */
export function hasOneDnn(): boolean {
  if (!hasKernel(ONEDNN_INPUT_GRAD)) return false;
  if (oneDnn === undefined) {
    try {
      tf.tidy(() => {
        const x = tf.ones([1, 3, 3, 2]) as tf.Tensor4D;
        const dy = tf.ones([1, 2, 2, 2]) as tf.Tensor4D;
        const w = oneDnnFilterGrad(x, dy, [2, 2, 2, 2], 1, false);
        const dx = oneDnnInputGrad(dy, w, [1, 3, 3, 2], 1, false);
        // every weight gradient is 4; the centre pixel gets one tap from each of the 4 outputs x 2 channels
        if (dx.dataSync()[8] !== 32) throw new Error('unexpected oneDNN result');
      });
      oneDnn = true;
    } catch {
      oneDnn = false;
    }
  }
  return oneDnn;
}

const INSTANCE_NORM = 'DT_InstanceNorm';
const INSTANCE_NORM_GRAD = 'DT_InstanceNormGrad';

registerNative<{ slope: number; eps: number }>(INSTANCE_NORM, (nb, { x, bias }, { slope, eps }) => {
  const b = nb.binding;
  return nb.executeMultipleOutputs('DtInstanceNorm', [
    { name: 'slope', type: b.TF_ATTR_FLOAT, value: slope },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: eps },
  ], [x, bias], 3);
});

registerNative<{ slope: number }>(INSTANCE_NORM_GRAD, (nb, { dy, x, bias, mean, rstd }, { slope }) =>
  nb.executeMultipleOutputs('DtInstanceNormGrad', [{ name: 'slope', type: nb.binding.TF_ATTR_FLOAT, value: slope }], [dy, x, bias, mean, rstd], 2));

/**
 * act((x + bias - mean) · rstd) per sample and channel, act(z) = z > 0 ? z : slope·z;
 * also mean and rstd, [N, C]. Callers check hasDtKernels().
 */
export function dtInstanceNorm(x: tf.Tensor4D, bias: tf.Tensor1D, slope: number, eps: number): [tf.Tensor4D, tf.Tensor2D, tf.Tensor2D] {
  return tf.engine().runKernel(INSTANCE_NORM, { x, bias }, { slope, eps }) as [tf.Tensor4D, tf.Tensor2D, tf.Tensor2D];
}

/** [dx, dbias] of dtInstanceNorm for dy, from its inputs and statistics. */
export function dtInstanceNormGrad(dy: tf.Tensor4D, x: tf.Tensor4D, bias: tf.Tensor1D, mean: tf.Tensor2D, rstd: tf.Tensor2D, slope: number): [tf.Tensor4D, tf.Tensor1D] {
  return tf.engine().runKernel(INSTANCE_NORM_GRAD, { dy, x, bias, mean, rstd }, { slope }) as [tf.Tensor4D, tf.Tensor1D];
}

const BATCH_NORM = 'DT_BatchNorm';
const BATCH_NORM_GRAD = 'DT_BatchNormGrad';

registerNative<{ slope: number; eps: number; perSample: boolean; momentum: number }>(BATCH_NORM, (nb, { x, scale, offset, runningMean, runningVar }, { slope, eps, perSample, momentum }) => {
  const b = nb.binding;
  return nb.executeMultipleOutputs('DtBatchNorm', [
    { name: 'slope', type: b.TF_ATTR_FLOAT, value: slope },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: eps },
    { name: 'per_sample', type: b.TF_ATTR_BOOL, value: perSample },
    { name: 'momentum', type: b.TF_ATTR_FLOAT, value: momentum },
  ], [x, scale, offset, runningMean, runningVar], 5);
});

registerNative<{ slope: number; perSample: boolean }>(BATCH_NORM_GRAD, (nb, { dy, x, scale, offset, mean, rstd }, { slope, perSample }) => {
  const b = nb.binding;
  return nb.executeMultipleOutputs('DtBatchNormGrad', [
    { name: 'slope', type: b.TF_ATTR_FLOAT, value: slope },
    { name: 'per_sample', type: b.TF_ATTR_BOOL, value: perSample },
  ], [dy, x, scale, offset, mean, rstd], 3);
});

/** Train-mode BatchNorm's parameters and running statistics, [C] each. */
export interface BatchNormTensors {
  scale: tf.Tensor1D;
  offset: tf.Tensor1D;
  runningMean: tf.Tensor1D;
  runningVar: tf.Tensor1D;
}

/**
 * [y, mean, rstd, running mean, running variance]: y = act((x - mean) · rstd ·
 * scale + offset), act as dtInstanceNorm's, with the statistics per channel
 * over the batch (train-mode BatchNorm: [1, C]) or per sample and channel
 * (perSample: [N, C]), and the running statistics after PyTorch's update,
 * momentum·batch + (1 - momentum)·running with the unbiased variance (perSample:
 * unchanged). Callers check hasDtKernels().
 */
export function dtBatchNorm(x: tf.Tensor4D, p: BatchNormTensors, slope: number, eps: number, momentum: number, perSample: boolean): [tf.Tensor4D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D] {
  return tf.engine().runKernel(BATCH_NORM, { x, ...p }, { slope, eps, momentum, perSample }) as [tf.Tensor4D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
}

/** [dx, dscale, doffset] of dtBatchNorm for dy, from its inputs and statistics. */
export function dtBatchNormGrad(dy: tf.Tensor4D, x: tf.Tensor4D, scale: tf.Tensor1D, offset: tf.Tensor1D, mean: tf.Tensor2D, rstd: tf.Tensor2D, slope: number, perSample: boolean): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D] {
  return tf.engine().runKernel(BATCH_NORM_GRAD, { dy, x, scale, offset, mean, rstd }, { slope, perSample }) as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
}

const ROTATE_FILTER = 'DT_RotateFilter';
registerNative(ROTATE_FILTER, (nb, { w }) => nb.executeSingleOutput('DtRotateFilter', [], [w]));

/** w [kh, kw, c, o] rotated 180° with in and out swapped: [kh, kw, o, c]. Callers check hasDtKernels(). */
export function dtRotateFilter(w: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(ROTATE_FILTER, { w }) as tf.Tensor4D;
}

/** Registers an op of dt_kernels.cc with one input and one int attribute; returns its runner (callers check hasDtKernels()). */
function dtIntOp(op: string, attr: 'pad' | 'taps'): (x: tf.Tensor4D, value: number) => tf.Tensor4D {
  const kernelName = `DT_${op}`;
  registerNative<Record<string, number>>(kernelName, (nb, { x }, attrs) =>
    nb.executeSingleOutput(op, [{ name: attr, type: nb.binding.TF_ATTR_INT, value: attrs[attr] }], [x]));
  return (x, value) => tf.engine().runKernel(kernelName, { x }, { [attr]: value }) as tf.Tensor4D;
}

/** ReflectionPad2d(pad) of NHWC x. */
export const dtReflectPad = dtIntOp('DtReflectPad', 'pad');
/** Its gradient: dy folded back onto the values the padding copies. */
export const dtReflectPadGrad = dtIntOp('DtReflectPadGrad', 'pad');
/** z [N, H, W + k - 1, k·o] -> [N, H, W, o]: the sum over j < k (taps) of z's columns shifted by j, channels j·o.. . */
export const dtShiftSum = dtIntOp('DtShiftSum', 'taps');
/** Its gradient: dy copied back to every column and channel block it summed. */
export const dtShiftSumGrad = dtIntOp('DtShiftSumGrad', 'taps');

/**
 * Registers a gradient op of native/dt_split_conv.cc or dt_gemm_conv.cc taking the stride and two
 * sizes of the result's shape (`names`, at `at` in it); returns its runner.
 */
function splitGradOp(op: string, inputs: [string, string], names: [string, string], at: [number, number]) {
  const kernelName = `DT_${op}`;
  registerNative<{ shape: number[]; stride: number }>(kernelName, (nb, given, { shape, stride }) => {
    const b = nb.binding;
    return nb.executeSingleOutput(op, [
      { name: 'stride', type: b.TF_ATTR_INT, value: stride },
      ...names.map((name, i) => ({ name, type: b.TF_ATTR_INT, value: shape[at[i]] })),
    ], inputs.map((name) => given[name]));
  });
  return (first: tf.Tensor4D, second: tf.Tensor4D, shape: number[], stride: number): tf.Tensor4D =>
    tf.engine().runKernel(kernelName, { [inputs[0]]: first, [inputs[1]]: second }, { shape, stride } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * splitInputGrad(dy, filter, inputShape, stride): dx of a 'valid' convolution,
 * dy's rows split over the cores (native/dt_split_conv.cc). Callers check splitConvs().
 */
export const splitInputGrad = splitGradOp('DtSplitConv2DBackpropInput', ['dy', 'filter'], ['rows', 'cols'], [1, 2]);
/** splitFilterGrad(x, dy, filterShape, stride): dW of a 'valid' convolution of x, split like splitInputGrad. */
export const splitFilterGrad = splitGradOp('DtSplitConv2DBackpropFilter', ['x', 'dy'], ['kh', 'kw'], [0, 1]);
const intAttr = (nb: NativeBackend, name: string, value: number) => ({ name, type: nb.binding.TF_ATTR_INT, value });

const GEMM_FILTER_GRAD = 'DT_DtGemmConv2DBackpropFilter';
registerNative<{ kh: number; kw: number; stride: number; pad: number }>(GEMM_FILTER_GRAD, (nb, { x, dy }, { kh, kw, stride, pad }) =>
  nb.executeSingleOutput('DtGemmConv2DBackpropFilter', [intAttr(nb, 'stride', stride), intAttr(nb, 'kh', kh), intAttr(nb, 'kw', kw), intAttr(nb, 'pad', pad)], [x, dy]));

/**
 * dW [kh, kw, c, o] of a convolution of x zero-padded by `pad` on every side,
 * as patchesᵀ·dy in our FMA kernel (native/dt_gemm_conv.cc), the padding's
 * zeros gathered instead of copied in. Callers check gemmConvs().
 */
export function gemmFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, [kh, kw]: number[], stride: number, pad = 0): tf.Tensor4D {
  return tf.engine().runKernel(GEMM_FILTER_GRAD, { x, dy }, { kh, kw, stride, pad }) as tf.Tensor4D;
}

const CONV_TO_ONE = 'DT_DtConvToOne';
const CONV_TO_ONE_INPUT_GRAD = 'DT_DtConvToOneBackpropInput';
const CONV_TO_ONE_FILTER_GRAD = 'DT_DtConvToOneBackpropFilter';
registerNative<{ pad: number }>(CONV_TO_ONE, (nb, { x, filter }, { pad }) => nb.executeSingleOutput('DtConvToOne', [intAttr(nb, 'pad', pad)], [x, filter]));
registerNative<{ pad: number; rows: number; cols: number }>(CONV_TO_ONE_INPUT_GRAD, (nb, { dy, filter }, { pad, rows, cols }) =>
  nb.executeSingleOutput('DtConvToOneBackpropInput', [intAttr(nb, 'pad', pad), intAttr(nb, 'rows', rows), intAttr(nb, 'cols', cols)], [dy, filter]));
registerNative<{ pad: number; kh: number; kw: number }>(CONV_TO_ONE_FILTER_GRAD, (nb, { x, dy }, { pad, kh, kw }) =>
  nb.executeSingleOutput('DtConvToOneBackpropFilter', [intAttr(nb, 'pad', pad), intAttr(nb, 'kh', kh), intAttr(nb, 'kw', kw)], [x, dy]));
tf.registerGradient({
  kernelName: CONV_TO_ONE,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { pad } = attrs as unknown as { pad: number };
    return {
      x: () => tf.engine().runKernel(CONV_TO_ONE_INPUT_GRAD, { dy: dy as tf.Tensor, filter }, { pad, rows: x.shape[1], cols: x.shape[2] }) as tf.Tensor4D,
      filter: () => tf.engine().runKernel(CONV_TO_ONE_FILTER_GRAD, { x, dy: dy as tf.Tensor }, { pad, kh: filter.shape[0], kw: filter.shape[1] }) as tf.Tensor4D,
    };
  },
});

/**
 * A stride-1 convolution of x zero-padded by `pad` into one channel (filter
 * [kh, kw, C, 1]) as dot products of channel runs, and its gradients likewise
 * (native/dt_conv_to_one.cc; the tape computes only the gradients it needs).
 * Callers check gemmConvs() (the ops need AVX2 and FMA).
 */
export function dtConvToOne(x: tf.Tensor4D, filter: tf.Tensor4D, pad: number): tf.Tensor4D {
  return tf.engine().runKernel(CONV_TO_ONE, { x, filter }, { pad }) as tf.Tensor4D;
}

const GEMM_INPUT_GRAD = 'DT_DtGemmConv2DBackpropInput';
registerNative<{ rows: number; cols: number; stride: number; crop: number }>(GEMM_INPUT_GRAD, (nb, { dy, filter }, { rows, cols, stride, crop }) =>
  nb.executeSingleOutput('DtGemmConv2DBackpropInput', [intAttr(nb, 'stride', stride), intAttr(nb, 'rows', rows), intAttr(nb, 'cols', cols), intAttr(nb, 'pad_top', crop), intAttr(nb, 'pad_left', crop)], [dy, filter]));

/**
 * dx [n, rows, cols, c] = inputShape of a 'valid' convolution of an input
 * zero-padded by `crop` on every side (the padding's rows and columns left
 * out), by phases of our FMA kernel (native/dt_gemm_conv.cc). Callers check gemmConvs().
 */
export function gemmInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], stride: number, crop = 0): tf.Tensor4D {
  return tf.engine().runKernel(GEMM_INPUT_GRAD, { dy, filter }, { rows: inputShape[1], cols: inputShape[2], stride, crop } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

type Conv2DAttrs = { strides: number | number[]; pad: number | 'valid' | 'same' | number[][]; dataFormat: string; dilations?: number | number[] };

/** [top, bottom, left, right] zero padding of a Conv2D call, or undefined for what the split conv does not take. */
function convPads({ strides, pad, dataFormat, dilations }: Conv2DAttrs, x: tf.TensorInfo, filter: tf.TensorInfo): number[] | undefined {
  const pair = (v: number | number[] | undefined) => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);
  const [sh, sw] = pair(strides);
  if (dataFormat !== 'NHWC' || sh !== sw || pair(dilations).some((d) => d !== 1)) return undefined;
  if (pad === 'valid') return [0, 0, 0, 0];
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (Array.isArray(pad)) return [pad[1][0], pad[1][1], pad[2][0], pad[2][1]];
  // TF's 'same': the output side ceil(side / s), the extra row or column at the bottom/right
  const same = (side: number, k: number) => {
    const total = Math.max((Math.ceil(side / sh) - 1) * sh + k - side, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  return [...same(x.shape[1], filter.shape[0]), ...same(x.shape[2], filter.shape[1])];
}

const PAD_ATTRS = ['pad_top', 'pad_bottom', 'pad_left', 'pad_right'];

/**
 * Whether a convolution may go through Winograd's F(2x2, 3x3): a 3x3 filter at
 * stride 1 between 256 channels or more, with 1 GFLOP of work or more per
 * image (ResNet's blocks at ngf 64 and 256 px), timed against the direct
 * kernel. Its transforms cost in proportion to C + O, its savings to C·O: with
 * fewer channels or on smaller maps it lost in place although it won alone
 * (CycleGAN 128 px, 128 channels: 771.5 vs 726.1 ms per step; resnet_6blocks
 * ngf 32 translation at 256 px: 4.37-4.43 vs 4.55-4.83 images/s). Chosen per
 * image, once for every batch size, so an image's translation does not depend
 * on the batch it was in. DOMAIN_TRANSLATOR_WINOGRAD=0 turns it off.
 */
function winogradFits(x: number[], filter: number[], stride: number): boolean {
  const [kh, kw, c, o] = filter;
  return process.env.DOMAIN_TRANSLATOR_WINOGRAD !== '0' && kh === 3 && kw === 3 && stride === 1 && c >= 256 && o >= 256 &&
    (2 * x[1] * x[2] * 9 * c * o) / 1e9 >= 1;
}

/**
 * A 3x3 stride-1 convolution with zero `pads` by Winograd's F(2x2, 3x3)
 * (native/dt_winograd.cc): the input and filter transforms, 16 channel
 * products as one batched matrix product (oneDNN's where this build has it:
 * 351 vs 257 GFLOP/s on 16 x [2048 x 256] x [256 x 256]), the output transform.
 * 2.25x fewer multiplications: 2 x 66 x 66 x 256 -> 256 channels 17 ms against
 * the direct kernel's 27 ms; no faster on CycleGAN's 16 x 16 maps. Callers
 * check hasDtKernels().
 */
export function winogradConv2d(x: tf.TensorInfo, filter: tf.TensorInfo, pads: number[]): tf.Tensor4D {
  const nb = tf.backend() as unknown as NativeBackend;
  const b = nb.binding;
  const [n, h, w] = x.shape;
  const v = nb.executeSingleOutput('DtWinogradInput', PAD_ATTRS.map((name, i) => intAttr(nb, name, pads[i])), [x]);
  const u = nb.executeSingleOutput('DtWinogradFilter', [], [filter]);
  const oneDnn = hasOneDnn();
  const m = nb.executeSingleOutput(oneDnn ? '_MklBatchMatMulV2' : 'BatchMatMulV2', [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'adj_x', type: b.TF_ATTR_BOOL, value: false },
    { name: 'adj_y', type: b.TF_ATTR_BOOL, value: false },
    ...(oneDnn ? [oneDnnLabel(b)] : []),
  ], [v, u]);
  const y = nb.executeSingleOutput('DtWinogradOutput', [intAttr(nb, 'n', n), intAttr(nb, 'rows', h + pads[0] + pads[1] - 2), intAttr(nb, 'cols', w + pads[2] + pads[3] - 2)], [m]);
  tf.dispose([v, u, m]);
  return y as tf.Tensor4D;
}

function directConv2d(op: 'DtSplitConv2D' | 'DtGemmConv2D', x: tf.TensorInfo, filter: tf.TensorInfo, stride: number, pads: number[]): tf.Tensor4D {
  const nb = tf.backend() as unknown as NativeBackend;
  return nb.executeSingleOutput(op, [intAttr(nb, 'stride', stride), ...PAD_ATTRS.map((name, i) => intAttr(nb, name, pads[i]))], [x, filter]) as tf.Tensor4D;
}

/**
 * A convolution with zero `pads` [top, bottom, left, right] as patches·filter
 * in our FMA kernel (native/dt_gemm_conv.cc). Callers check gemmConvs().
 */
export function gemmConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pads: number[]): tf.Tensor4D {
  return directConv2d('DtGemmConv2D', x, filter, stride, pads);
}

/**
 * Every Conv2D of the 'tensorflow' backend through DtSplitConv2D (TF's kernel
 * on a range of output rows per core), DtGemmConv2D or Winograd, whichever is
 * fastest for the shape, where its attributes allow; the tape still records
 * 'Conv2D', so its registered gradient applies unchanged.
 */
function splitEveryConv2D(): void {
  const original = tf.getKernel('Conv2D', 'tensorflow');
  if (!original) return;
  tf.unregisterKernel('Conv2D', 'tensorflow');
  registerNative<Conv2DAttrs>('Conv2D', (nb, { x, filter }, attrs) => {
    const pads = splitConvs() ? convPads(attrs, x, filter) : undefined;
    if (!pads) return original.kernelFunc({ inputs: { x, filter }, backend: nb as unknown as tf.KernelBackend, attrs: attrs as unknown as tf.NamedAttrMap }) as tf.TensorInfo;
    const stride = typeof attrs.strides === 'number' ? attrs.strides : attrs.strides[0];
    const candidates: ('split' | 'gemm' | 'winograd')[] = ['split'];
    if (gemmConvs()) candidates.push('gemm');
    if (winogradFits(x.shape, filter.shape, stride)) candidates.push('winograd');
    return fastest(`conv2d ${x.shape.slice(1)} ${filter.shape} stride ${stride} pads ${pads}`, candidates, (k) =>
      k === 'winograd' ? winogradConv2d(x, filter, pads) : directConv2d(k === 'split' ? 'DtSplitConv2D' : 'DtGemmConv2D', x, filter, stride, pads));
  });
}

/** The kernel sources: beside the bundled server in an installed extension, or in the repository. */
const NATIVE_SOURCES = [path.resolve(__dirname, '../native'), path.resolve(__dirname, '../../../native')].find((d) => existsSync(path.join(d, 'dt_kernels.cc')));

/**
 * Where the addon built by "Build Native Kernels" goes for this tfjs-node
 * (DOMAIN_TRANSLATOR_NATIVE_DIR, the extension's storage), or undefined.
 */
function builtKernelsFile(): string | undefined {
  // hashes the sources and the library: once per process (asked at start-up, at load and for the tooltip)
  if (builtFile === null) {
    const dir = process.env.DOMAIN_TRANSLATOR_NATIVE_DIR;
    const deps = tfjsNodeDeps();
    builtFile = dir && deps && NATIVE_SOURCES && !compileProblem(NATIVE_SOURCES, deps) ? cachedKernelsFile(dir, NATIVE_SOURCES, deps) : undefined;
  }
  return builtFile;
}
let builtFile: string | undefined | null = null;

/** Where the addon may be: `npm run build`'s, beside the bundled server or in the repository, then the command's. */
function dtKernelsFiles(): string[] {
  const built = builtKernelsFile();
  return [path.join(__dirname, 'dt_kernels.node'), path.resolve(__dirname, '../../../dist/dt_kernels.node'), ...(built ? [built] : [])];
}

/** `signalsBlocked`: the addon blocked the asynchronous signals on the thread that loaded it (signalHandlersSafe). */
interface KernelsStatus {
  loaded: boolean;
  why: string;
  signalsBlocked?: boolean;
  setPoolSpin?: (micros: number, yields: boolean) => void;
  /** The CPU has AVX2 and FMA: the addon registered dt_gemm_conv.cc's ops. */
  gemmConvs?: boolean;
}
let dtKernels: KernelsStatus | undefined;
/**
 * Whether the ops of native/dt_kernels.cc run here: tfjs-node's TensorFlow,
 * the addon built, loaded once. DOMAIN_TRANSLATOR_NATIVE_KERNELS=0 turns them off.
 */
export function hasDtKernels(): boolean {
  return tf.getBackend() === 'tensorflow' && dtKernelsStatus().loaded;
}

/** Loads the addon on first call; `why` says why not when it did not load. */
export function dtKernelsStatus(): KernelsStatus {
  if (!dtKernels) {
    const file = dtKernelsFiles().find((f) => existsSync(f));
    if (process.env.DOMAIN_TRANSLATOR_NATIVE_KERNELS === '0') dtKernels = { loaded: false, why: 'turned off by DOMAIN_TRANSLATOR_NATIVE_KERNELS=0' };
    else if (!file) dtKernels = { loaded: false, why: `not built for this TensorFlow library (${builtKernelsFile() ? 'run "Domain Translator: Build Native Kernels"' : 'npm run build builds them from source'}); portable ops run instead` };
    else {
      try {
        const addon = require(file) as { asyncSignalsBlocked?: number; setPoolSpin?: (micros: number, yields: boolean) => void; gemmConvs?: number };
        dtKernels = { loaded: true, why: '', signalsBlocked: addon.asyncSignalsBlocked === 1, setPoolSpin: addon.setPoolSpin, gemmConvs: addon.gemmConvs === 1 };
        if (splitConvs()) splitEveryConv2D();
      } catch (err) {
        dtKernels = { loaded: false, why: `${file} did not load: ${(err as Error).message.split('\n')[0]}` };
      }
    }
  }
  return dtKernels;
}

/**
 * How the native pool's idle workers wait for the next job: spin up to `micros`,
 * yielding the core between looks if `yields` (native/dt_common.h). For
 * bench/ab.ts, which compares settings step by step; false without the addon.
 */
export function setPoolSpin(micros: number, yields: boolean): boolean {
  const set = dtKernelsStatus().setPoolSpin;
  set?.(micros, yields);
  return set !== undefined;
}

/**
 * Whether a signal handler (the CLI's Ctrl-C) may run in this process. TF's
 * oneDNN sgemm points rsp into the heap while it runs, so a handler that runs on
 * a thread inside it corrupts memory (uxlfoundation/oneDNN#4845); the addon
 * keeps those signals off the threads that run ops. wasm and cpu run no oneDNN.
 */
export function signalHandlersSafe(): boolean {
  return tf.getBackend() !== 'tensorflow' || dtKernelsStatus().signalsBlocked === true;
}

/** Why "Build Native Kernels" cannot build the addon here, or undefined when it can. */
export function kernelsBuildProblem(): string | undefined {
  if (tf.getBackend() !== 'tensorflow') return `they run on the tensorflow backend only, and this server runs ${tf.getBackend()}`;
  const status = dtKernelsStatus();
  if (status.loaded) return 'they are already loaded';
  if (process.env.DOMAIN_TRANSLATOR_NATIVE_KERNELS === '0') return status.why;
  const deps = tfjsNodeDeps();
  if (!deps) return '@tensorflow/tfjs-node is not installed';
  if (!NATIVE_SOURCES) return 'their sources are not part of this installation';
  const problem = compileProblem(NATIVE_SOURCES, deps);
  if (problem) return problem;
  if (!process.env.DOMAIN_TRANSLATOR_NATIVE_DIR) return 'there is no folder to build them in (DOMAIN_TRANSLATOR_NATIVE_DIR is not set)';
  return undefined;
}

/** Compiles the addon where the next server start looks for it (builtKernelsFile()). */
export async function buildDtKernels(): Promise<{ file: string; warnings: string }> {
  const problem = kernelsBuildProblem();
  const [deps, file] = [tfjsNodeDeps(), builtKernelsFile()];
  if (problem || !deps || !NATIVE_SOURCES || !file) throw new Error(`cannot build the native kernels: ${problem}`);
  return { file, warnings: await compileKernels(NATIVE_SOURCES, deps, file) };
}

/**
 * Whether the addon is here to load. Read before tfjs-node loads: the server
 * then gives each TensorFlow context its own threads
 * (TF_OVERRIDE_GLOBAL_THREADPOOL), so the split convolutions' private context
 * runs on one while tfjs-node's keeps all cores.
 */
export function dtKernelsInstalled(): boolean {
  return process.env.DOMAIN_TRANSLATOR_NATIVE_KERNELS !== '0' && dtKernelsFiles().some((f) => existsSync(f));
}

/**
 * Whether convolutions go through the DtSplit ops: the addon loaded, TF's
 * contexts with their own threads, not turned off by DOMAIN_TRANSLATOR_SPLIT_CONVS=0.
 */
export function splitConvs(): boolean {
  return hasDtKernels() && !!process.env.TF_OVERRIDE_GLOBAL_THREADPOOL && process.env.DOMAIN_TRANSLATOR_SPLIT_CONVS !== '0';
}

/**
 * Whether our FMA convolutions (native/dt_gemm_conv.cc) are candidates beside
 * the split ones: the CPU has AVX2 and FMA, not turned off by DOMAIN_TRANSLATOR_GEMM_CONVS=0.
 */
export function gemmConvs(): boolean {
  return splitConvs() && dtKernelsStatus().gemmConvs === true && process.env.DOMAIN_TRANSLATOR_GEMM_CONVS !== '0';
}

/** True when the current backend runs `name` natively. */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}
