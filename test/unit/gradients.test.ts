// Gradients of every op with a custom or composite gradient, against central
// finite differences of float64 references, on every backend that starts here;
// the forward-op conv weight gradient against the native kernel; and why our
// reflection-pad gradient exists: tfjs-core's MirrorPad gradient is wrong.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, useBackend } from '../../server/backend';
import { FILTER_GRADS, INPUT_GRADS, chooseFilterGrad, chooseInputGrad, conv2d, convTranspose2d, hasNativeFilterGrad } from '../../server/models/layers/conv';
import { fastest } from '../../server/models/layers/fastest';
import { dtBatchNorm, dtBatchNormGrad, dtInstanceNorm, dtKernelsStatus, dtReflectPad, dtRotateFilter, dtShiftSum, gemmConvs, hasDtKernels, hasOneDnn, setPoolSpin, splitConvs, splitFilterGrad, splitInputGrad, winogradConv2d } from '../../server/models/layers/nativeKernels';
import { batchNorm, instanceNorm, instanceNormAct, perSampleBatchNorm } from '../../server/models/layers/norm';
import { expectedParams, isTrainable } from '../../server/models/layout';
import type { GeneratorSpec } from '../../server/models/spec';
import { reflectPad } from '../../server/models/layers/reflectPad';
import { activate, leakyRelu, relu } from '../../server/models/layers/relu';
import { ganLoss, l1Loss } from '../../server/train/losses';
import type { BackendName } from '../../protocol/server';
import {
  type T64,
  batchNormTrainRef,
  conv2dRef,
  convTransposeRef,
  finiteDifferenceGrad,
  instanceNormRef,
  maxAbsDiff,
  randomT64,
  reflectPadRef,
  relativeError,
} from './support/layerReference';

const toTensor = (t: T64) => tf.tensor(Float32Array.from(t.data), t.shape);
const TOL = 1e-4;

let backends: BackendName[] = [];
before(async () => {
  backends = await availableBackends();
});

/**
 * Gradients of Σ op(inputs)·probe from tfjs, each compared with finite differences of the reference.
 * Returns the worst relative error.
 */
function checkGrads(what: string, op: (xs: tf.Tensor[]) => tf.Tensor, ref: (xs: T64[]) => T64, inputs: T64[]): number {
  const probe = randomT64(ref(inputs).shape, 99);
  const grads = tf.tidy(() => tf.grads((...xs: tf.Tensor[]) => op(xs))(inputs.map(toTensor), toTensor(probe)).map((g) => g.dataSync()));
  let worst = 0;
  inputs.forEach((inp, i) => {
    assert.equal(grads[i].length, inp.data.length, `${what}: gradient ${i} size`);
    const fd = finiteDifferenceGrad(ref, inputs, probe, i);
    const err = relativeError(grads[i], fd.data);
    assert.ok(err <= TOL, `${what}: gradient of input ${i} is off by ${err} (relative)`);
    worst = Math.max(worst, err);
  });
  return worst;
}

describe('gradients against finite differences', () => {
  test('conv2d: input and weight gradients for every stride/padding the networks use', async (t) => {
    for (const name of backends) {
      await useBackend(name);
      let worst = 0;
      // 8 and 64 channels: oneDNN's input gradient too (tfjs-node), with TF's 'same' padding where it is the zero padding
      for (const [k, stride, pad, h, w, c] of [[3, 1, 1, 5, 6, 3], [3, 2, 1, 6, 7, 3], [4, 2, 1, 8, 6, 3], [7, 1, 0, 8, 9, 3], [4, 1, 1, 5, 5, 3], [1, 1, 0, 3, 4, 3], [3, 1, 1, 5, 6, 8], [4, 2, 1, 7, 6, 8], [4, 2, 1, 4, 4, 64]]) {
        const x = randomT64([2, h, w, c], 10 + k);
        const wt = randomT64([k, k, c, c === 3 ? 4 : 8], 20 + k);
        worst = Math.max(worst, checkGrads(`${name} conv k${k} s${stride} p${pad}`, ([a, b]) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride, pad }), ([a, b]) => conv2dRef(a, b, stride, pad), [x, wt]));
      }
      t.diagnostic(`${name}: conv2d worst relative gradient error ${worst.toExponential(2)}`);
    }
  });

  test('conv-transpose: input and weight gradients (k3 output_padding 1, k4)', async (t) => {
    for (const name of backends) {
      await useBackend(name);
      let worst = 0;
      for (const [k, op] of [[3, 1], [4, 0]]) {
        const x = randomT64([2, 3, 4, 5], 30 + k);
        const wt = randomT64([k, k, 2, 5], 40 + k);
        worst = Math.max(worst, checkGrads(`${name} convT k${k}`, ([a, b]) => convTranspose2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: 2, pad: 1, outputPadding: op }), ([a, b]) => convTransposeRef(a, b, 2, 1, op), [x, wt]));
      }
      t.diagnostic(`${name}: conv-transpose worst relative gradient error ${worst.toExponential(2)}`);
    }
  });

  test('reflection padding folds the borders back', async (t) => {
    for (const name of backends) {
      await useBackend(name);
      let worst = 0;
      for (const p of [1, 3]) {
        const x = randomT64([2, 5, 6, 2], 50 + p);
        worst = Math.max(worst, checkGrads(`${name} reflectPad ${p}`, ([a]) => reflectPad(a as tf.Tensor4D, p), ([a]) => reflectPadRef(a, p), [x]));
      }
      t.diagnostic(`${name}: reflection pad worst relative gradient error ${worst.toExponential(2)}`);
    }
  });

  test('ReLU and LeakyReLU (native ReluGrad / LeakyReluGrad on tfjs-node)', async (t) => {
    const leaky = (x: T64, alpha: number): T64 => ({ shape: x.shape, data: x.data.map((v) => (v > 0 ? v : alpha * v)) });
    for (const name of backends) {
      await useBackend(name);
      const x = randomT64([2, 4, 5, 3], 65);
      const err = Math.max(
        checkGrads(`${name} relu`, ([a]) => relu(a as tf.Tensor4D), ([a]) => leaky(a, 0), [x]),
        checkGrads(`${name} leakyRelu`, ([a]) => leakyRelu(a as tf.Tensor4D, 0.2), ([a]) => leaky(a, 0.2), [x]),
      );
      t.diagnostic(`${name}: ReLU / LeakyReLU relative gradient error ${err.toExponential(2)}`);
    }
  });

  test('instance norm', async (t) => {
    for (const name of backends) {
      await useBackend(name);
      const x = randomT64([2, 4, 5, 3], 60);
      const err = checkGrads(`${name} instanceNorm`, ([a]) => instanceNorm(a as tf.Tensor4D), ([a]) => instanceNormRef(a), [x]);
      t.diagnostic(`${name}: instance norm relative gradient error ${err.toExponential(2)}`);
    }
  });

  test('instance norm of x + bias with its activation (one native op each way on tfjs-node)', async (t) => {
    const act = (v: T64, slope: number): T64 => ({ shape: v.shape, data: v.data.map((z) => (z > 0 ? z : slope * z)) });
    const plusBias = (x: T64, b: T64): T64 => ({ shape: x.shape, data: x.data.map((v, i) => v + b.data[i % b.data.length]) });
    for (const name of backends) {
      await useBackend(name);
      let worst = 0;
      for (const slope of [1, 0, 0.2]) {
        // the bias gradient is 0 up to rounding (the norm removes the bias): the threaded test checks it is the sum of dx
        const b = randomT64([3], 62);
        worst = Math.max(worst, checkGrads(`${name} instanceNormAct ${slope}`, ([x]) => instanceNormAct(x as tf.Tensor4D, slope, toTensor(b) as tf.Tensor1D),
          ([x]) => act(instanceNormRef(plusBias(x, b)), slope), [randomT64([2, 4, 5, 3], 61)]));
      }
      t.diagnostic(`${name}: instance norm + bias + activation relative gradient error ${worst.toExponential(2)}`);
    }
  });

  test('batch norm in train mode with its activation: input, weight and bias', async (t) => {
    const act = (v: T64, slope: number): T64 => ({ shape: v.shape, data: v.data.map((z) => (z > 0 ? z : slope * z)) });
    for (const name of backends) {
      await useBackend(name);
      let worst = 0;
      for (const slope of [1, 0, 0.2]) {
        const inputs = [randomT64([2, 3, 4, 3], 70), randomT64([3], 71), randomT64([3], 72)];
        const op = ([x, w, b]: tf.Tensor[]) =>
          tf.tidy(() => batchNorm(x as tf.Tensor4D, { weight: w as tf.Tensor1D, bias: b as tf.Tensor1D, runningMean: tf.zeros([3]), runningVar: tf.ones([3]) }, true, true, slope).y);
        worst = Math.max(worst, checkGrads(`${name} batchNorm ${slope}`, op, ([x, w, b]) => act(batchNormTrainRef(x, w, b), slope), inputs));
      }
      t.diagnostic(`${name}: batch norm + activation relative gradient error ${worst.toExponential(2)}`);
    }
  });
});

describe('losses: values and gradients against finite differences', () => {
  test('GANLoss (lsgan, vanilla) and L1, as PyTorch reduces them (mean)', async (t) => {
    const mean = (v: number[]) => v.reduce((p, q) => p + q, 0) / v.length;
    const scalar = (v: number): T64 => ({ shape: [], data: Float64Array.of(v) });
    const target = randomT64([1, 5, 5, 1], 81);
    const refs: [string, (x: tf.Tensor) => tf.Tensor, (x: T64) => T64][] = [
      ['lsgan real', (x) => ganLoss('lsgan', x, true), (x) => scalar(mean([...x.data].map((v) => (v - 1) ** 2)))],
      ['lsgan fake', (x) => ganLoss('lsgan', x, false), (x) => scalar(mean([...x.data].map((v) => v ** 2)))],
      ['vanilla real', (x) => ganLoss('vanilla', x, true), (x) => scalar(mean([...x.data].map((v) => Math.log1p(Math.exp(-v)))))],
      ['vanilla fake', (x) => ganLoss('vanilla', x, false), (x) => scalar(mean([...x.data].map((v) => Math.log1p(Math.exp(v)))))],
      ['L1', (x) => l1Loss(x, toTensor(target)), (x) => scalar(mean([...x.data].map((v, i) => Math.abs(v - target.data[i]))))],
    ];
    for (const name of backends) {
      await useBackend(name);
      let worst = 0;
      for (const [what, op, ref] of refs) {
        const x = randomT64([1, 5, 5, 1], 80);
        const value = tf.tidy(() => op(toTensor(x)).dataSync()[0]);
        assert.ok(Math.abs(value - ref(x).data[0]) < 1e-6 * Math.max(1, Math.abs(ref(x).data[0])), `${name} ${what}: ${value} vs ${ref(x).data[0]}`);
        worst = Math.max(worst, checkGrads(`${name} ${what}`, ([v]) => op(v), ([v]) => ref(v), [x]));
      }
      t.diagnostic(`${name}: losses relative gradient error ${worst.toExponential(2)}`);
    }
  });
});

describe('native kernels (native/dt_kernels.cc)', () => {
  test('are built and loaded wherever tfjs-node runs', async () => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    assert.ok(hasDtKernels(), dtKernelsStatus().why);
  });

  test("rotate a filter for the forward-conv input gradient exactly as TF's reverse and transpose do", async () => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    // PatchGAN's 4x4x256x512 (split over the cores), a ResNet 3x3 with sizes off the tile, the 7x7 into RGB
    for (const shape of [[4, 4, 256, 512], [3, 3, 20, 17], [7, 7, 32, 3]] as [number, number, number, number][]) {
      const [got, want] = tf.tidy(() => {
        const w = tf.randomNormal(shape, 0, 1, 'float32', shape[2]) as tf.Tensor4D;
        return [dtRotateFilter(w), tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2])];
      });
      assert.deepEqual(got.shape, want.shape);
      assert.deepEqual(got.dataSync(), want.dataSync(), shape.join('x'));
      tf.dispose([got, want]);
    }
  });

  test("Winograd's F(2x2, 3x3) convolution equals the float64 reference and the direct kernel, odd sizes and any zero padding included", async () => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    // [N, H, W, C, O, pad]: odd output sides (a last tile half outside), channels off any vector width, ResNet's padded maps
    for (const [n, h, w, c, o, pad] of [[1, 7, 6, 5, 3, 1], [2, 9, 8, 4, 6, 0], [1, 4, 3, 1, 1, 1], [2, 34, 34, 64, 64, 0], [3, 16, 16, 128, 128, 1]]) {
      const x = randomT64([n, h, w, c], n * h + c);
      const wt = randomT64([3, 3, c, o], c + o);
      const want = conv2dRef(x, wt, 1, pad);
      const got = winogradConv2d(toTensor(x) as tf.Tensor4D, toTensor(wt) as tf.Tensor4D, [pad, pad, pad, pad]);
      assert.deepEqual(got.shape, want.shape);
      const scale = want.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const d = maxAbsDiff(got.dataSync(), want.data);
      assert.ok(d <= 1e-5 * scale, `${[n, h, w, c, o, pad].join('x')}: max abs diff ${d} of ${scale}`);
      got.dispose();
    }
    // asymmetric padding, against the direct kernel
    const [x, w] = [tf.randomNormal([2, 11, 10, 24], 0, 1, 'float32', 1) as tf.Tensor4D, tf.randomNormal([3, 3, 24, 20], 0, 0.1, 'float32', 2) as tf.Tensor4D];
    const pads: [number, number, number, number] = [1, 0, 0, 2];
    process.env.DOMAIN_TRANSLATOR_WINOGRAD = '0';
    const direct = tf.conv2d(x, w, 1, [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]]);
    delete process.env.DOMAIN_TRANSLATOR_WINOGRAD;
    const got = winogradConv2d(x, w, pads);
    assert.deepEqual(got.shape, direct.shape);
    assert.ok(tf.max(tf.abs(tf.sub(got, direct))).dataSync()[0] < 1e-5, 'asymmetric padding');
    tf.dispose([x, w, direct, got]);
    // each image's result does not depend on the batch it is in (translation batches images)
    const [xb, wb] = [tf.randomNormal([3, 34, 34, 64], 0, 1, 'float32', 3) as tf.Tensor4D, tf.randomNormal([3, 3, 64, 64], 0, 0.05, 'float32', 4) as tf.Tensor4D];
    const batched = winogradConv2d(xb, wb, [1, 1, 1, 1]);
    for (let k = 0; k < 3; k++) {
      const [alone, slice] = [winogradConv2d(tf.slice(xb, k, 1), wb, [1, 1, 1, 1]), tf.slice(batched, k, 1)];
      assert.deepEqual(alone.dataSync(), slice.dataSync(), `image ${k} alone and in a batch of 3`);
      tf.dispose([alone, slice]);
    }
    tf.dispose([xb, wb, batched]);
  });

  test('refuse bad input with a message naming the op and what it takes', async () => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      assert.throws(() => dtReflectPad(tf.zeros([1, 3, 3, 2]), 3), /DtReflectPad takes a float32 \[N, H, W, C\] tensor with H and W larger than the padding/);
      assert.throws(() => dtShiftSum(tf.zeros([1, 4, 4, 5]), 2), /DtShiftSum takes a float32 \[N, H, W, taps \* C\] tensor/);
      assert.throws(() => dtRotateFilter(tf.zeros([4, 4, 2]) as tf.Tensor as tf.Tensor4D), /DtRotateFilter takes a float32 \[kh, kw, in, out\] filter/);
      assert.throws(() => winogradConv2d(tf.zeros([1, 4, 4, 2]), tf.zeros([4, 4, 2, 2]), [0, 0, 0, 0]), /DtWinogradFilter takes a float32 \[3, 3, C, O\] filter/);
      assert.throws(() => winogradConv2d(tf.zeros([1, 2, 4, 2]), tf.zeros([3, 3, 2, 2]), [0, 0, 0, 0]), /DtWinogradInput takes a float32 \[N, H, W, C\] tensor whose padded sides are at least 3/);
      assert.throws(() => dtInstanceNorm(tf.zeros([1, 4, 4, 3]), tf.zeros([2]), 0, 1e-5), /DtInstanceNorm takes a float32 \[N, H, W, C\] tensor and a bias of C values/);
      const bn = (c: number, offset: number) => ({ scale: tf.ones([c]) as tf.Tensor1D, offset: tf.zeros([offset]) as tf.Tensor1D, runningMean: tf.zeros([c]) as tf.Tensor1D, runningVar: tf.ones([c]) as tf.Tensor1D });
      assert.throws(() => dtBatchNorm(tf.zeros([1, 4, 4, 3]), bn(3, 2), 0, 1e-5, 0.1, false), /DtBatchNorm takes a float32 \[N, H, W, C\] tensor, a scale, an offset and running statistics of C values/);
      assert.throws(() => dtBatchNorm(tf.zeros([2, 1, 1, 3]), bn(3, 3), 0, 1e-5, 0.1, true), /DtBatchNorm needs more than 1 value per channel/);
      const [dy, x, mean, rstd] = [tf.zeros([2, 4, 4, 3]) as tf.Tensor4D, tf.zeros([2, 4, 4, 3]) as tf.Tensor4D, tf.zeros([1, 3]) as tf.Tensor2D, tf.ones([1, 3]) as tf.Tensor2D];
      assert.throws(() => dtBatchNormGrad(dy, x, tf.ones([3]), tf.zeros([3]), mean, rstd, 0, true), /DtBatchNormGrad takes .* and DtBatchNorm's mean and rstd/);
    });
    assert.equal(tf.memory().numTensors, before);
  });

  test('split across threads, they equal the portable ops: instance norm (+ bias, activation), batch norm (+ activation, per batch or sample), reflection padding, the few-channel conv\'s shifted sum; values and gradients', async (t) => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    const maxRel = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(b)).dataSync()[0]);
    let worst = 0;
    // 2 x 64 x 64 x 32: several parts per sample; 1 x 3 x 5 x 7: one part
    for (const [shape, slope] of [[[2, 64, 64, 32], 0], [[2, 64, 64, 32], 0.2], [[1, 3, 5, 7], 1]] as [number[], number][]) {
      tf.tidy(() => {
        const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 3), 1.5) as tf.Tensor4D;
        const b = tf.randomNormal([shape[3]], 0, 1, 'float32', 2) as tf.Tensor1D;
        const probe = tf.randomNormal(shape, 0, 1, 'float32', 3);
        const native = (v: tf.Tensor4D, c: tf.Tensor1D) => tf.sum(tf.mul(instanceNormAct(v, slope, c), probe));
        const portable = (v: tf.Tensor4D, c: tf.Tensor1D) => tf.sum(tf.mul(activate(instanceNorm(tf.add(v, c)), slope), probe));
        const [gx, gb] = tf.grads(native as (...a: tf.Tensor[]) => tf.Tensor)([x, b]);
        const [px] = tf.grads(portable as (...a: tf.Tensor[]) => tf.Tensor)([x, b]);
        // dbias is the sum of dx over N, H, W (as PyTorch's conv bias gradient), up to float rounding of that sum
        const dbErr = tf.max(tf.abs(tf.sub(gb, tf.sum(gx, [0, 1, 2])))).dataSync()[0] / tf.sum(tf.abs(gx)).dataSync()[0];
        const errs = [maxRel(instanceNormAct(x, slope, b), activate(instanceNorm(tf.add(x, b)), slope)), maxRel(gx, px), dbErr];
        assert.ok(errs.every((e) => e < 1e-5), `instance norm ${shape.join('x')} slope ${slope}: errors ${errs}`);
        worst = Math.max(worst, errs[0], errs[1]);
      });
    }
    // Batch norm with its statistics over the batch or per sample, scale, offset and activation against moments() and tfjs's gradients.
    for (const [shape, slope, perSample] of [[[2, 64, 64, 32], 0.2, false], [[2, 64, 64, 32], 0, true], [[1, 3, 5, 7], 1, false]] as [number[], number, boolean][]) {
      tf.tidy(() => {
        const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 11), 3), 1.5) as tf.Tensor4D;
        const [w, b] = [tf.randomNormal([shape[3]], 1, 0.5, 'float32', 12) as tf.Tensor1D, tf.randomNormal([shape[3]], 0, 1, 'float32', 13) as tf.Tensor1D];
        const probe = tf.randomNormal(shape, 0, 1, 'float32', 14);
        const p = (wv: tf.Tensor1D, bv: tf.Tensor1D) => ({ weight: wv, bias: bv, runningMean: tf.zeros([shape[3]]) as tf.Tensor1D, runningVar: tf.ones([shape[3]]) as tf.Tensor1D });
        const nativeY = (v: tf.Tensor4D, wv: tf.Tensor1D, bv: tf.Tensor1D) => (perSample ? perSampleBatchNorm(v, p(wv, bv), slope) : batchNorm(v, p(wv, bv), true, false, slope).y);
        const portableY = (v: tf.Tensor4D, wv: tf.Tensor1D, bv: tf.Tensor1D) => {
          const { mean, variance } = tf.moments(v, perSample ? [1, 2] : [0, 1, 2], true);
          return activate(tf.add(tf.mul(tf.mul(tf.sub(v, mean), tf.rsqrt(tf.add(variance, 1e-5))), wv), bv) as tf.Tensor4D, slope);
        };
        const grads = (f: typeof nativeY) => tf.grads(((v: tf.Tensor4D, wv: tf.Tensor1D, bv: tf.Tensor1D) => tf.sum(tf.mul(f(v, wv, bv), probe))) as (...a: tf.Tensor[]) => tf.Tensor)([x, w, b]);
        const [g, pg] = [grads(nativeY), grads(portableY)];
        const errs = [maxRel(nativeY(x, w, b), portableY(x, w, b)), ...g.map((gi, i) => maxRel(gi, pg[i]))];
        assert.ok(errs.every((e) => e < 1e-5), `batch norm ${shape.join('x')} slope ${slope} per sample ${perSample}: value, dx, dscale, doffset errors ${errs}`);
        worst = Math.max(worst, ...errs);
      });
    }
    // Reflection as a gather (tfjs differentiates gather exactly) against the native pad and its gradient.
    for (const [shape, p] of [[[2, 64, 64, 32], 1], [[2, 32, 32, 16], 3], [[1, 4, 4, 1], 3]] as [[number, number, number, number], number][]) {
      tf.tidy(() => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', 4) as tf.Tensor4D;
        const rows = (n: number) => Array.from({ length: n + 2 * p }, (_, i) => Math.abs(i - p) - (i - p >= n ? 2 * (i - p - n + 1) : 0));
        const gathered = (v: tf.Tensor4D) => tf.gather(tf.gather(v, rows(shape[1]), 1), rows(shape[2]), 2) as tf.Tensor4D;
        const probe = tf.randomNormal([shape[0], shape[1] + 2 * p, shape[2] + 2 * p, shape[3]], 0, 1, 'float32', 5);
        assert.equal(maxRel(reflectPad(x, p), gathered(x)), 0, `reflectPad ${p} ${shape.join('x')}: values`);
        const err = maxRel(tf.grad((v) => tf.sum(tf.mul(reflectPad(v as tf.Tensor4D, p), probe)))(x), tf.grad((v) => tf.sum(tf.mul(gathered(v as tf.Tensor4D), probe)))(x));
        assert.ok(err < 1e-6, `reflectPad ${p} ${shape.join('x')}: gradient off by ${err}`);
      });
    }
    // A 7x7 conv into 3 channels (conv2dFewOutputs: a 7x1 conv into 21 channels, then the native shifted sum) against TF's Conv2D.
    tf.tidy(() => {
      const x = tf.randomNormal([2, 70, 70, 32], 0, 1, 'float32', 6) as tf.Tensor4D;
      const w = tf.randomNormal([7, 7, 32, 3], 0, 0.1, 'float32', 7) as tf.Tensor4D;
      const probe = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 8);
      const loss = (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), probe));
      const ours = (a: tf.Tensor4D, b: tf.Tensor4D) => conv2d(a, b, { stride: 1, pad: 0 });
      const tfs = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, 1, 'valid');
      const [ox, ow] = tf.grads(loss(ours))([x, w]);
      const [tx, tw] = tf.grads(loss(tfs))([x, w]);
      const errs = [maxRel(ours(x, w), tfs(x, w)), maxRel(ox, tx), maxRel(ow, tw)];
      assert.ok(errs.every((e) => e < 1e-5), `7x7 conv into 3 channels: errors ${errs}`);
      worst = Math.max(worst, ...errs);
    });
    t.diagnostic(`native kernels against the portable ops / TF's: worst relative difference ${worst.toExponential(2)}`);
  });
});

describe('split convolutions (native/dt_split_conv.cc)', () => {
  // [x (unpadded), kernel, stride, output channels, padding]: a split inside a sample (batch 1), splits
  // between and inside samples with whole samples merged (batch 3), stride 2 with TF's asymmetric
  // 'same', a map too small to split, and rows a strided conv never reads
  const convs: [[number, number, number, number], number, number, number, number | 'same'][] = [
    [[1, 16, 16, 128], 3, 1, 128, 1],
    [[3, 16, 16, 64], 3, 1, 64, 1],
    [[2, 32, 32, 32], 3, 2, 64, 'same'],
    [[2, 31, 30, 16], 4, 2, 32, 1],
    [[1, 5, 5, 8], 3, 1, 8, 0],
    [[1, 70, 70, 32], 7, 1, 3, 0],
  ];
  const pads = (shape: number[], k: number, stride: number, pad: number | 'same'): [[number, number], [number, number], [number, number], [number, number]] => {
    if (pad !== 'same') return [[0, 0], [pad, pad], [pad, pad], [0, 0]];
    const same = (side: number) => {
      const total = Math.max((Math.ceil(side / stride) - 1) * stride + k - side, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)] as [number, number];
    };
    return [[0, 0], same(shape[1]), same(shape[2]), [0, 0]];
  };

  test('run wherever the native kernels do, with TF\'s threads per context', async () => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    assert.ok(splitConvs(), `split convolutions off: ${dtKernelsStatus().why || `TF_OVERRIDE_GLOBAL_THREADPOOL=${process.env.TF_OVERRIDE_GLOBAL_THREADPOOL}`}`);
  });

  test('Conv2D through the split op equals a float64 convolution, for every padding tfjs passes', async (t) => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    let worst = 0;
    for (const [shape, k, stride, o, pad] of convs) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', k);
      const w = tf.randomNormal([k, k, shape[3], o], 0, 0.1, 'float32', o);
      const p = pads(shape, k, stride, pad);
      const padded = tf.pad(x, p);
      const want = conv2dRef({ shape: padded.shape, data: Float64Array.from(padded.dataSync()) }, { shape: w.shape, data: Float64Array.from(w.dataSync()) }, stride, 0);
      const got = tf.tidy(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad === 'same' ? 'same' : pad === 0 ? 'valid' : p));
      assert.deepEqual(got.shape, want.shape);
      const err = relativeError(got.dataSync(), want.data);
      assert.ok(err < 1e-5, `${shape.join('x')} k${k} s${stride} pad ${pad} -> ${o}: relative difference ${err}`);
      worst = Math.max(worst, err);
      tf.dispose([x, w, padded, got]);
    }
    t.diagnostic(`split Conv2D vs float64: worst relative difference ${worst.toExponential(2)}`);
  });

  test("their gradients equal TF's own kernels, also split by filter rows and with rows the conv never reads", async (t) => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    // [padded x, k, stride, o]: batch 1 and 3 row splits, 4x4 filters larger than dy (split by filter rows), stride 2 with an unread row
    const layers: [[number, number, number, number], number, number, number][] = [
      [[1, 18, 18, 128], 3, 1, 128],
      [[3, 18, 18, 64], 3, 1, 64],
      [[2, 10, 10, 256], 4, 1, 512],
      [[2, 34, 34, 64], 4, 2, 128],
      [[2, 35, 33, 32], 3, 2, 64],
      [[1, 70, 70, 32], 7, 1, 21],
    ];
    let worst = 0;
    for (const [shape, k, stride, o] of layers) {
      const errs = tf.tidy(() => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', k) as tf.Tensor4D;
        const w = tf.randomNormal([k, k, shape[3], o], 0, 0.1, 'float32', o) as tf.Tensor4D;
        const dy = tf.randomNormal(tf.conv2d(x, w, stride, 'valid').shape, 0, 1, 'float32', 5) as tf.Tensor4D;
        return [
          relativeError(splitFilterGrad(x, dy, w.shape, stride).dataSync(), FILTER_GRADS.native(x, dy, w.shape, stride).dataSync()),
          relativeError(splitInputGrad(dy, w, shape, stride).dataSync(), INPUT_GRADS.native(dy, w, shape, stride).dataSync()),
        ];
      });
      assert.ok(errs.every((e) => e < 1e-5), `${shape.join('x')} k${k} s${stride} -> ${o}: relative differences dW ${errs[0]}, dx ${errs[1]}`);
      worst = Math.max(worst, ...errs);
    }
    t.diagnostic(`split gradients vs TF's kernels: worst relative difference ${worst.toExponential(2)}`);
  });

  test('give the same values on every run, however the idle workers wait (each row range is computed the same way each time)', async () => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    try {
      tf.tidy(() => {
        const x = tf.randomNormal([3, 18, 18, 64], 0, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, 64, 64], 0, 0.1, 'float32', 2) as tf.Tensor4D;
        const dy = tf.randomNormal([3, 16, 16, 64], 0, 1, 'float32', 3) as tf.Tensor4D;
        const first = [tf.conv2d(x, w, 1, 'valid'), splitFilterGrad(x, dy, w.shape, 1), splitInputGrad(dy, w, x.shape, 1)].map((r) => r.dataSync());
        for (let run = 0; run < 20; run++) {
          // sleeping at once, spinning without and with yielding the core
          assert.ok(setPoolSpin([0, 400, 3000][run % 3], run % 3 === 2));
          const again = [tf.conv2d(x, w, 1, 'valid'), splitFilterGrad(x, dy, w.shape, 1), splitInputGrad(dy, w, x.shape, 1)].map((r) => r.dataSync());
          again.forEach((a, i) => assert.deepEqual(a, first[i], `run ${run}, result ${i}`));
        }
      });
      assert.throws(() => setPoolSpin(-1, true), /setPoolSpin takes microseconds >= 0/);
    } finally {
      setPoolSpin(3000, true);
    }
  });

  test('an empty batch gives empty results and a zero weight gradient', async () => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    tf.tidy(() => {
      assert.deepEqual(tf.conv2d(tf.zeros([0, 8, 8, 4]) as tf.Tensor4D, tf.ones([3, 3, 4, 2]) as tf.Tensor4D, 1, 'valid').shape, [0, 6, 6, 2]);
      assert.deepEqual(splitInputGrad(tf.zeros([0, 6, 6, 2]), tf.ones([3, 3, 4, 2]), [0, 8, 8, 4], 1).shape, [0, 8, 8, 4]);
      // split by output rows (3x3) and by filter rows (4x4)
      for (const k of [3, 4]) {
        const dw = splitFilterGrad(tf.zeros([0, 8, 8, 4]), tf.zeros([0, 9 - k, 9 - k, 2]), [k, k, 4, 2], 1);
        assert.deepEqual([dw.shape, Math.max(...dw.dataSync())], [[k, k, 4, 2], 0]);
      }
    });
  });

  test('refuse shapes that do not fit, with a message naming the op, and leave no tensors behind', async () => {
    if (!backends.includes('tensorflow')) return;
    await useBackend('tensorflow');
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      assert.throws(() => splitFilterGrad(tf.zeros([1, 8, 8, 4]), tf.zeros([1, 5, 5, 2]), [3, 3, 4, 2], 1), /DtSplitConv2DBackpropFilter: dy's shape must be the 'valid' convolution's output/);
      assert.throws(() => splitInputGrad(tf.zeros([1, 6, 6, 2]), tf.zeros([3, 3, 4, 2]), [1, 9, 9, 4], 1), /DtSplitConv2DBackpropInput: dy's shape must be the 'valid' convolution's output/);
      // past tfjs-core's own checks, straight to the kernel
      const conv = () => tf.engine().runKernel('Conv2D', { x: tf.zeros([1, 8, 8, 4]), filter: tf.zeros([3, 3, 5, 2]) }, { strides: 1, pad: 'valid', dataFormat: 'NHWC' });
      assert.throws(conv, /DtSplitConv2D: the filter's input channels must match x's/);
    });
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('conv gradient formulations', () => {
  // [input (already padded), kernel, stride, output channels]: small and large maps, strides 1 and 2, few output channels
  const layers: [[number, number, number, number], number, number, number][] = [
    [[2, 18, 20, 8], 3, 1, 16],
    [[2, 18, 18, 8], 3, 2, 16],
    [[1, 34, 34, 8], 4, 2, 16],
    [[2, 22, 22, 8], 7, 1, 16],
    [[2, 9, 9, 8], 4, 1, 16],
    [[1, 6, 6, 32], 4, 2, 64],
    [[1, 4, 4, 16], 4, 2, 32],
    [[2, 12, 12, 8], 7, 1, 3],
    [[2, 9, 11, 8], 3, 2, 16], // odd sides: space to depth pads a zero row and column
    [[1, 35, 35, 8], 4, 2, 16], // one row and column the strided conv never reads
  ];

  test('every weight-gradient formulation equals the native Conv2DBackpropFilter', async (t) => {
    assert.ok(backends.includes('tensorflow'), 'the native backend is needed for this comparison');
    await useBackend('tensorflow');
    assert.equal(hasNativeFilterGrad(), true);
    let worst = 0;
    for (const [shape, k, stride, o] of layers) {
      for (const [name, algo] of Object.entries(FILTER_GRADS)) {
        if (name === 'gemm' && !gemmConvs()) continue; // our FMA kernels exist only on a CPU with AVX2 and FMA (gemmConv.test.ts checks which)
        if (name === 'spaceToDepth' && stride !== 2) continue; // stride 2 only, by construction
        const err = tf.tidy(() => {
          const x = tf.randomNormal(shape, 0, 1, 'float32', k) as tf.Tensor4D;
          const w = tf.randomNormal([k, k, shape[3], o], 0, 0.1, 'float32', stride) as tf.Tensor4D;
          const dy = tf.randomNormal(tf.conv2d(x, w, stride, 'valid').shape, 0, 1, 'float32', shape[1]) as tf.Tensor4D;
          const native = tf.grad((wv: tf.Tensor) => tf.conv2d(x, wv as tf.Tensor4D, stride, 'valid'))(w, dy);
          return relativeError(algo(x, dy, w.shape, stride).dataSync(), native.dataSync());
        });
        assert.ok(err < 1e-5, `${name} ${shape.join('x')} k${k} s${stride} -> ${o}: relative difference ${err}`);
        worst = Math.max(worst, err);
      }
    }
    t.diagnostic(`weight gradient formulations vs native: worst relative difference ${worst.toExponential(2)}`);
  });

  test('every input-gradient formulation equals the native Conv2DBackpropInput', async (t) => {
    await useBackend('tensorflow');
    let worst = 0;
    for (const [shape, k, stride, o] of layers) {
      for (const [name, algo] of Object.entries(INPUT_GRADS)) {
        if (name === 'forwardConv' && stride !== 1) continue; // stride 1 only, by construction (chooseInputGrad never picks it otherwise)
        if (name === 'gemm' && !gemmConvs()) continue;
        const err = tf.tidy(() => {
          const x = tf.randomNormal(shape, 0, 1, 'float32', k) as tf.Tensor4D;
          const w = tf.randomNormal([k, k, shape[3], o], 0, 0.1, 'float32', stride) as tf.Tensor4D;
          const dy = tf.randomNormal(tf.conv2d(x, w, stride, 'valid').shape, 0, 1, 'float32', shape[1]) as tf.Tensor4D;
          const native = tf.grad((xv: tf.Tensor) => tf.conv2d(xv as tf.Tensor4D, w, stride, 'valid'))(x, dy);
          return relativeError(algo(dy, w, shape, stride).dataSync(), native.dataSync());
        });
        assert.ok(err < 1e-5, `${name} ${shape.join('x')} k${k} s${stride} -> ${o}: relative difference ${err}`);
        worst = Math.max(worst, err);
      }
    }
    t.diagnostic(`input gradient formulations vs native: worst relative difference ${worst.toExponential(2)}`);
  });

  test("the forward-conv input gradient of a zero-padded conv leaves the padding out, as slicing it off would", async () => {
    await useBackend('tensorflow');
    // PatchGAN's stride-1 4x4 conv (pad 1), a ResNet 3x3 (pad 1), and the final 7x7 into RGB (few outputs, pad 3)
    type Shape = [number, number, number, number];
    for (const [shape, k, o, pad] of [[[1, 9, 9, 16], 4, 8, 1], [[2, 8, 8, 8], 3, 8, 1], [[1, 12, 12, 8], 7, 3, 3]] as [Shape, number, number, number][]) {
      const [n, h, w, c] = shape;
      const padded: Shape = [n, h + 2 * pad, w + 2 * pad, c];
      const { cropped, sliced } = tf.tidy(() => {
        const weights = tf.randomNormal([k, k, c, o], 0, 0.1, 'float32', k) as tf.Tensor4D;
        const dy = tf.randomNormal([n, padded[1] - k + 1, padded[2] - k + 1, o], 0, 1, 'float32', pad) as tf.Tensor4D;
        return {
          cropped: INPUT_GRADS.forwardConv(dy, weights, shape, 1, pad),
          sliced: tf.slice(INPUT_GRADS.forwardConv(dy, weights, padded, 1), [0, pad, pad, 0], shape),
        };
      });
      assert.deepEqual(cropped.shape, shape);
      const err = relativeError(cropped.dataSync(), sliced.dataSync());
      assert.ok(err < 1e-6, `${shape.join('x')} k${k} pad ${pad}: relative difference ${err}`);
      tf.dispose([cropped, sliced]);
    }
  });

  test('each layer gets the formulation measured fastest for its shapes', async () => {
    await useBackend('tensorflow');
    assert.equal(hasOneDnn(), true, "this TensorFlow build has oneDNN's gradient kernels");
    // U-Net innermost up-conv (2x2x1024 -> 4x4x512): too many weights for oneDNN
    assert.equal(chooseFilterGrad([1, 2, 2, 1024], [4, 4, 512, 1024], 2), 'patches');
    assert.equal(chooseInputGrad([1, 2, 2, 1024], [4, 4, 512, 1024], 2), 'columns');
    // ResNet block at 128 px, batch 3
    assert.equal(chooseFilterGrad([3, 32, 32, 128], [3, 3, 128, 128], 1), 'oneDnn');
    assert.equal(chooseInputGrad([3, 32, 32, 128], [3, 3, 128, 128], 1), 'oneDnn');
    // first 7x7 conv: the weight gradient by oneDNN, the input gradient into 3 channels by the forward conv
    assert.equal(chooseFilterGrad([1, 256, 256, 64], [7, 7, 3, 64], 1), 'oneDnn');
    assert.equal(chooseInputGrad([1, 256, 256, 64], [7, 7, 3, 64], 1), 'forwardConv');
    // stride-2 4x4 layers (PatchGAN, U-Net)
    assert.equal(chooseFilterGrad([1, 64, 64, 128], [4, 4, 64, 128], 2), 'oneDnn');
    assert.equal(chooseInputGrad([1, 32, 32, 512], [4, 4, 128, 512], 2), 'oneDnn');
    assert.equal(chooseInputGrad([1, 128, 128, 64], [4, 4, 6, 64], 2), 'native');
    // ResNet's 3x3 stride-2 downsampling: oneDNN's weight gradient, TF's input gradient
    assert.equal(chooseFilterGrad([2, 32, 32, 128], [3, 3, 64, 128], 2), 'oneDnn');
    assert.equal(chooseInputGrad([2, 32, 32, 128], [3, 3, 64, 128], 2), 'native');
    // PatchGAN's 4x4 stride-1 conv with 2M weights on a 31x31 map
    assert.equal(chooseInputGrad([1, 31, 31, 512], [4, 4, 256, 512], 1), 'native');
    // final 7x7 conv to RGB: oneDNN's weight gradient; its input gradient from 3 channels by the forward conv
    assert.equal(chooseFilterGrad([1, 256, 256, 3], [7, 7, 64, 3], 1), 'oneDnn');
    assert.equal(chooseInputGrad([1, 256, 256, 3], [7, 7, 64, 3], 1), 'forwardConv');
    // one channel in and out: oneDNN's input gradient is wrong there, so neither gradient uses it
    assert.notEqual(chooseFilterGrad([1, 16, 16, 1], [3, 3, 1, 1], 1), 'oneDnn');
    assert.notEqual(chooseInputGrad([1, 16, 16, 1], [3, 3, 1, 1], 1), 'oneDnn');
  });

  test("oneDNN's gradients equal TF's own on the benchmark networks' layer shapes, also where the input has rows the conv never reads", async (t) => {
    await useBackend('tensorflow');
    // [input, k, stride, out channels]: ResNet block, downsampling with the unread row, PatchGAN, U-Net middle, 7x7 from RGB
    const shapes: [[number, number, number, number], number, number, number][] = [
      [[3, 18, 18, 128], 3, 1, 128],
      [[2, 34, 34, 64], 3, 2, 128],
      [[1, 66, 66, 128], 4, 2, 256],
      [[1, 35, 35, 32], 4, 2, 64],
      [[1, 34, 34, 128], 4, 2, 512],
      [[2, 70, 70, 3], 7, 1, 32],
      [[1, 16, 16, 1], 1, 2, 8], // a 1x1 stride-2 kernel: without cropping to the read rows oneDNN corrupted the heap
    ];
    let worst = 0;
    for (const [shape, k, stride, o] of shapes) {
      const err = tf.tidy(() => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', k) as tf.Tensor4D;
        const w = tf.randomNormal([k, k, shape[3], o], 0, 0.1, 'float32', o) as tf.Tensor4D;
        const dy = tf.randomNormal(tf.conv2d(x, w, stride, 'valid').shape, 0, 1, 'float32', 5) as tf.Tensor4D;
        return Math.max(
          relativeError(INPUT_GRADS.oneDnn(dy, w, shape, stride).dataSync(), INPUT_GRADS.native(dy, w, shape, stride).dataSync()),
          relativeError(FILTER_GRADS.oneDnn(x, dy, w.shape, stride).dataSync(), FILTER_GRADS.native(x, dy, w.shape, stride).dataSync()),
        );
      });
      assert.ok(err < 1e-5, `${shape.join('x')} k${k} s${stride} -> ${o}: relative difference ${err}`);
      worst = Math.max(worst, err);
    }
    t.diagnostic(`oneDNN gradients vs TF's kernels: worst relative difference ${worst.toExponential(2)}`);
  });

  test('the wasm backend (no Conv2DBackpropFilter, no im2col) gets the forward-op formulations', async () => {
    assert.ok(backends.includes('wasm'));
    await useBackend('wasm');
    assert.equal(hasNativeFilterGrad(), false);
    assert.equal(chooseFilterGrad([1, 2, 2, 1024], [4, 4, 512, 1024], 2), 'forwardOps');
    assert.equal(chooseInputGrad([1, 2, 2, 1024], [4, 4, 512, 1024], 2), 'native');
    assert.equal(hasOneDnn(), false);
    assert.equal(chooseFilterGrad([3, 32, 32, 128], [3, 3, 128, 128], 1), 'forwardOps');
  });

  test('fastest() times each formulation on the first call, keeps the faster one, and returns its result', async () => {
    await useBackend(backends[0]);
    const x = tf.randomNormal([64, 64, 1, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const runs: string[] = [];
    const candidates = {
      slow: () => tf.tidy(() => tf.reshape(Array.from({ length: 200 }, () => tf.matMul(tf.reshape(x, [64, 64]), tf.reshape(x, [64, 64]))).reduce((a, b) => tf.add(a, b)), [64, 64, 1, 1])) as tf.Tensor4D,
      fast: () => tf.mul(x, 2) as tf.Tensor4D,
    };
    const run = (c: keyof typeof candidates) => {
      runs.push(c);
      return candidates[c]();
    };
    const before = tf.memory().numTensors;
    const first = fastest('test: slow vs fast', ['slow', 'fast'], run);
    assert.deepEqual(runs, ['slow', 'fast', 'slow', 'fast', 'slow', 'fast', 'fast']);
    assert.deepEqual(first.dataSync(), tf.tidy(() => tf.mul(x, 2).dataSync()));
    runs.length = 0;
    fastest('test: slow vs fast', ['slow', 'fast'], run).dispose();
    assert.deepEqual(runs, ['fast'], 'the choice is kept');
    first.dispose();
    assert.equal(tf.memory().numTensors, before, 'the timing runs leave no tensors');
    x.dispose();
  });
});

describe("tfjs-core's MirrorPad gradient", () => {
  test('drops the reflected border contributions (why reflectPad has its own gradient)', async (t) => {
    await useBackend(backends[0]);
    const x = randomT64([1, 5, 6, 1], 80);
    const probe = randomT64([1, 7, 8, 1], 81);
    const builtin = tf.tidy(() =>
      tf.grad((a: tf.Tensor) => tf.mirrorPad(a as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect'))(toTensor(x), toTensor(probe)).dataSync(),
    );
    const fd = finiteDifferenceGrad(([a]) => reflectPadRef(a, 1), [x], probe, 0);
    // rows/columns 1 and n-2 are copied into the border, so their true gradient includes border terms
    const err = relativeError(builtin, fd.data);
    assert.ok(err > 0.1, `expected the built-in gradient to be wrong, relative error ${err}`);
    // the centre-only part is right: the built-in gradient equals the slice of dy
    for (let r = 0; r < 5; r++)
      for (let c = 0; c < 6; c++) assert.ok(Math.abs(builtin[r * 6 + c] - probe.data[(r + 1) * 8 + (c + 1)]) < 1e-6);
    t.diagnostic(`built-in MirrorPad gradient relative error ${err.toFixed(2)} (ours: < ${TOL})`);
  });
});

describe('without tfjs-node', () => {
  test('a wasm-only process can differentiate a network (our layers register the op gradients tfjs-core lacks)', () => {
    const spec: GeneratorSpec = { netG: 'resnet_6blocks', ngf: 4, norm: 'instance', inputNc: 3, outputNc: 3, useDropout: true };
    const script = `
      const tf = require('@tensorflow/tfjs-core');
      const { initBackend } = require('./server/backend');
      const { Generator } = require('./server/models/network');
      (async () => {
        const backend = (await initBackend('wasm')).name;
        const g = Generator.init(${JSON.stringify(spec)}, 1);
        const x = tf.randomUniform([1, 16, 16, 3], -1, 1);
        const { grads } = tf.variableGrads(() => tf.mean(g.apply(x, { training: true })));
        const finite = Object.values(grads).every((t) => t.dataSync().every(Number.isFinite));
        const tfjsNode = Object.keys(require.cache).some((k) => k.includes('tfjs-node'));
        console.log(JSON.stringify({ backend, tfjsNode, grads: Object.keys(grads).length, finite }));
      })();`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' });
    const trainable = expectedParams(spec).filter((e) => isTrainable(e.kind)).length;
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { backend: 'wasm', tfjsNode: false, grads: trainable, finite: true });
  });
});
