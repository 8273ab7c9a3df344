// InstanceNorm2d (affine off, no running statistics) and BatchNorm2d as the
// official networks use them: eps 1e-5, biased variance for normalising;
// BatchNorm keeps running statistics with momentum 0.1 and unbiased variance.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no op gradients itself (the umbrella package does); training on wasm/cpu needs them
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { FUSED_NORM, FUSED_NORM_GRAD, dtBatchNorm, dtBatchNormGrad, dtInstanceNorm, dtInstanceNormGrad, hasDtKernels, hasKernel } from './nativeKernels';
import { activate } from './relu';

export const NORM_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

interface FusedResult {
  y: tf.Tensor4D;
  mean: tf.Tensor1D;
  /** Unbiased (n - 1) batch variance, for the running statistics. */
  variance: tf.Tensor1D;
}

/**
 * Per-channel normalisation over N, H, W with TF's fused batch norm, forward
 * and gradient one op each (tfjs-node without native/dt_kernels.cc): pix2pix at 256 px 0.85-0.98 ->
 * 0.72-0.76 s/it, unet_256 translation 7.8 -> 9.7 images/s. Instance norm keeps
 * its closed form below: with Eigen's fused op it was no faster, with oneDNN's
 * ~3% faster at 128 px but further from the CycleGAN fixtures (README). The
 * statistics leave the differentiated op kept (outside every tidy): the caller disposes them.
 */
function fusedNorm(x: tf.Tensor4D, scale: tf.Tensor1D, offset: tf.Tensor1D): FusedResult {
  const stats: Partial<FusedResult> = {};
  const op = tf.customGrad((...args) => {
    const [x4, s, o, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, mean, variance, r1, r2, r3] = tf.engine().runKernel(FUSED_NORM, { x: x4, scale: s, offset: o }, { eps: NORM_EPS } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    stats.mean = tf.keep(mean) as tf.Tensor1D;
    stats.variance = tf.keep(variance) as tf.Tensor1D;
    save([x4, s, r1, r2, r3]);
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy, saved) => {
        const [xs, ss, s1, s2, s3] = saved;
        return tf.engine().runKernel(FUSED_NORM_GRAD, { dy: dy as tf.Tensor, x: xs, scale: ss, r1: s1, r2: s2, r3: s3 }, { eps: NORM_EPS } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      },
    };
  });
  const y = op(x, scale, offset) as tf.Tensor4D;
  return { y, mean: stats.mean!, variance: stats.variance! };
}

/**
 * act(BatchNorm(x)) in train mode, act(z) = z > 0 ? z : slope·z, with
 * native/dt_kernels.cc: one op forward and one backward on all cores. Against
 * TF's fused op (oneDNN, one core for small maps) at 1x64x64x128: forward with
 * the running statistics 4.0 -> 0.6 ms, forward and gradient 8.6 -> 4.4 ms;
 * a pix2pix step 1328 -> 1313 ms (bench/ab.ts, 10 pairs). With runningStats,
 * also the running statistics after this batch, from the same op. perSample:
 * statistics per sample and channel (perSampleBatchNorm).
 */
function dtBatchNormAct(x: tf.Tensor4D, p: BatchNormParams, slope: number, perSample: boolean, runningStats: boolean): BatchNormResult {
  const running: Omit<BatchNormResult, 'y'> = {};
  const op = tf.customGrad((...args) => {
    const [x4, s, o, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, mean, rstd, runningMean, runningVar] = dtBatchNorm(x4, { scale: s, offset: o, runningMean: p.runningMean, runningVar: p.runningVar }, slope, NORM_EPS, BN_MOMENTUM, perSample);
    if (runningStats) {
      running.runningMean = tf.keep(runningMean);
      running.runningVar = tf.keep(runningVar);
    } else {
      tf.dispose([runningMean, runningVar]);
    }
    save([x4, s, o, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [xs, ss, os, ms, rs] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor2D, tf.Tensor2D];
        return dtBatchNormGrad(dy as tf.Tensor4D, xs, ss, os, ms, rs, slope, perSample);
      },
    };
  });
  const y = op(x, p.weight, p.bias) as tf.Tensor4D;
  if (!running.runningMean || !running.runningVar) return { y };
  // back into the caller's scope (the op's forward runs in a tidy of its own), as the other paths leave them
  const r = { y, runningMean: tf.clone(running.runningMean), runningVar: tf.clone(running.runningVar) };
  tf.dispose([running.runningMean, running.runningVar]);
  return r;
}

/**
 * Per sample and channel over H, W (NHWC). The gradient is the closed form
 * PyTorch uses, dx = r·(dy - mean(dy) - y·mean(dy·y)) with r = 1/sqrt(var + eps):
 * 7 kernels instead of the ~30 that differentiating moments() takes.
 */
export function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args) => {
    const [x4, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const centredX = tf.sub(x4, tf.mean(x4, [1, 2], true));
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(centredX), [1, 2], true), NORM_EPS));
    const y = tf.mul(centredX, r) as tf.Tensor4D;
    save([y, r]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [ys, rs] = saved as [tf.Tensor4D, tf.Tensor4D];
        const centred = tf.sub(dy, tf.mean(dy, [1, 2], true));
        const proj = tf.mul(ys, tf.mean(tf.mul(dy, ys), [1, 2], true));
        return tf.mul(tf.sub(centred, proj), rs);
      },
    };
  });
  return op(x);
}

/**
 * activate(instanceNorm(x + bias), slope) (slope 1: no activation, 0: ReLU,
 * 0.2: LeakyReLU; bias: the preceding convolution's). With native/dt_kernels.cc
 * one op forward and one backward on all cores, instead of ~20 kernels that
 * TF runs on one; else the portable ops.
 */
export function instanceNormAct(x: tf.Tensor4D, slope: number, bias?: tf.Tensor1D): tf.Tensor4D {
  if (!hasDtKernels()) return activate(instanceNorm(bias ? tf.add(x, bias) : x), slope);
  const op = tf.customGrad((...args) => {
    const [x4, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, mean, rstd] = dtInstanceNorm(x4, b, slope, NORM_EPS);
    save([x4, b, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [xs, bs, ms, rs] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor2D, tf.Tensor2D];
        return dtInstanceNormGrad(dy as tf.Tensor4D, xs, bs, ms, rs, slope);
      },
    };
  });
  if (bias) return op(x, bias) as tf.Tensor4D;
  const zero = tf.zeros([x.shape[3]]) as tf.Tensor1D;
  const y = op(x, zero) as tf.Tensor4D;
  zero.dispose();
  return y;
}

/** As PyTorch: in train mode one value per channel (n, over what is normalised together) has no batch variance. */
function checkValuesPerChannel(n: number, x: tf.Tensor4D): void {
  if (n === 1) throw new Error(`BatchNorm in train mode needs more than 1 value per channel, got input ${x.shape.join('x')}`);
}

export interface BatchNormParams {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
  runningMean: tf.Tensor1D;
  runningVar: tf.Tensor1D;
}

export interface BatchNormResult {
  y: tf.Tensor4D;
  /** Train mode only: the running statistics PyTorch would store after this batch. */
  runningMean?: tf.Tensor1D;
  runningVar?: tf.Tensor1D;
}

/**
 * act(BatchNorm(x)), act as instanceNormAct's. Train mode normalises with the
 * batch statistics; eval mode with the running ones. `runningStats`: also
 * compute the running statistics PyTorch would store (the trainer's forward;
 * inference skips these ~6 small kernels per layer).
 */
export function batchNorm(x: tf.Tensor4D, p: BatchNormParams, training: boolean, runningStats = training, slope = 1): BatchNormResult {
  if (!training) {
    return { y: activate(tf.batchNorm(x, p.runningMean, p.runningVar, p.bias, p.weight, NORM_EPS), slope) };
  }
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  checkValuesPerChannel(n, x);
  if (hasDtKernels()) return dtBatchNormAct(x, p, slope, false, runningStats);
  // PyTorch's update: momentum 0.1 towards the batch mean and the unbiased batch variance
  const withRunning = (y: tf.Tensor4D, mean: tf.Tensor, unbiasedVar: tf.Tensor): BatchNormResult =>
    !runningStats
      ? { y }
      : {
          y,
          runningMean: tf.add(tf.mul(p.runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)) as tf.Tensor1D,
          runningVar: tf.add(tf.mul(p.runningVar, 1 - BN_MOMENTUM), tf.mul(unbiasedVar, BN_MOMENTUM)) as tf.Tensor1D,
        };
  if (hasKernel(FUSED_NORM)) {
    const f = fusedNorm(x, p.weight, p.bias);
    const r = withRunning(activate(f.y, slope), f.mean, f.variance);
    tf.dispose([f.mean, f.variance]);
    return r;
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const y = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, NORM_EPS))), p.weight), p.bias) as tf.Tensor4D;
  return withRunning(activate(y, slope), mean, tf.mul(variance, n / (n - 1)));
}

/**
 * Train-mode BatchNorm with each sample's own statistics: what N batches of
 * one give (translation batches images this way). Per sample and channel over
 * H, W that is instance norm, then BatchNorm's affine: one norm op for the
 * batch instead of split, a fused norm per image and concat (unet_256, 8
 * images: 13 norm ops instead of 104; the generator 425-435 -> 396-416 ms).
 */
export function perSampleBatchNorm(x: tf.Tensor4D, p: BatchNormParams, slope = 1): tf.Tensor4D {
  checkValuesPerChannel(x.shape[1] * x.shape[2], x);
  if (hasDtKernels()) return dtBatchNormAct(x, p, slope, true, false).y;
  return activate(tf.add(tf.mul(instanceNormAct(x, 1), p.weight), p.bias) as tf.Tensor4D, slope);
}
