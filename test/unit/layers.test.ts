// Forward pass of every layer against float64 references written from the
// PyTorch definitions, on every backend that starts here.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, useBackend } from '../../server/backend';
import { conv2d, convTranspose2d } from '../../server/models/layers/conv';
import { dropout } from '../../server/models/layers/dropout';
import { BN_MOMENTUM, batchNorm, instanceNorm, perSampleBatchNorm } from '../../server/models/layers/norm';
import { reflectPad } from '../../server/models/layers/reflectPad';
import type { BackendName } from '../../protocol/server';
import { type T64, batchNormTrainRef, conv2dRef, convTransposeRef, instanceNormRef, maxAbsDiff, randomT64, reflectPadRef } from './support/layerReference';

const toTensor = (t: T64) => tf.tensor4d(Float32Array.from(t.data), t.shape as [number, number, number, number]);

function close(got: tf.Tensor, want: T64, tol: number, what: string): number {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const d = maxAbsDiff(got.dataSync(), want.data);
  assert.ok(d <= tol, `${what}: max abs diff ${d} > ${tol}`);
  return d;
}

let backends: BackendName[] = [];
before(async () => {
  backends = await availableBackends();
});

describe('layers', () => {
  test('every backend runs each layer like the float64 reference', async (t) => {
    assert.ok(backends.length > 0);
    for (const name of backends) {
      await useBackend(name);
      tf.tidy(() => {
        const x = randomT64([2, 9, 8, 3], 1);
        for (const [k, stride, pad] of [[3, 1, 1], [3, 2, 1], [4, 2, 1], [7, 1, 0], [1, 1, 0], [4, 1, 1]]) {
          const w = randomT64([k, k, 3, 5], 2 + k);
          close(conv2d(toTensor(x), toTensor(w), { stride, pad }), conv2dRef(x, w, stride, pad), 1e-5, `${name} conv k${k} s${stride} p${pad}`);
        }
        const w3 = randomT64([3, 3, 3, 5], 9);
        const bias = [0.5, -1, 0.25, 0, 2];
        const withBias = conv2dRef(x, w3, 1, 1);
        withBias.data.forEach((v, i) => (withBias.data[i] = v + bias[i % 5]));
        close(conv2d(toTensor(x), toTensor(w3), { stride: 1, pad: 1 }, tf.tensor1d(bias)), withBias, 1e-5, `${name} conv with bias`);
        const xs = randomT64([2, 4, 5, 6], 3);
        for (const [k, outputPadding] of [[3, 1], [4, 0]]) {
          const w = randomT64([k, k, 3, 6], 4 + k);
          const got = convTranspose2d(toTensor(xs), toTensor(w), { stride: 2, pad: 1, outputPadding }, tf.tensor1d([1, 2, 3]));
          assert.deepEqual(got.shape, [2, 8, 10, 3], `${name} convT k${k} doubles the sides`);
          const want = convTransposeRef(xs, w, 2, 1, outputPadding);
          want.data.forEach((v, i) => (want.data[i] = v + 1 + (i % 3)));
          close(got, want, 1e-5, `${name} convT k${k} op${outputPadding} with bias`);
        }
        // exact copies, up to the float32 rounding of the reference values
        for (const p of [1, 3]) close(reflectPad(toTensor(x), p), reflectPadRef(x, p), 1e-7, `${name} reflectPad ${p}`);
        close(instanceNorm(toTensor(x)), instanceNormRef(x), 1e-5, `${name} instanceNorm`);
      });
      t.diagnostic(`${name}: conv, conv-transpose, reflection pad, instance norm match`);
    }
  });

  test('BatchNorm: batch statistics and PyTorch running-stat update in train mode, running statistics in eval mode', async () => {
    for (const name of backends) {
      await useBackend(name);
      tf.tidy(() => {
        const x = randomT64([2, 3, 4, 3], 5);
        const weight = randomT64([3], 6);
        const bias = randomT64([3], 7);
        const runningMean = tf.tensor1d([0.5, -0.25, 0]);
        const runningVar = tf.tensor1d([1, 2, 0.5]);
        const p = { weight: tf.tensor1d(Float32Array.from(weight.data)), bias: tf.tensor1d(Float32Array.from(bias.data)), runningMean, runningVar };
        const train = batchNorm(toTensor(x), p, true);
        close(train.y, batchNormTrainRef(x, weight, bias), 1e-5, `${name} batchNorm train`);
        // running_mean ← 0.9·running_mean + 0.1·mean; running_var uses the unbiased batch variance
        const n = 2 * 3 * 4;
        const mean = [0, 0, 0];
        const sq = [0, 0, 0];
        x.data.forEach((v, i) => (mean[i % 3] += v / n));
        x.data.forEach((v, i) => (sq[i % 3] += (v - mean[i % 3]) ** 2));
        const wantMean = [0.5, -0.25, 0].map((m, c) => (1 - BN_MOMENTUM) * m + BN_MOMENTUM * mean[c]);
        const wantVar = [1, 2, 0.5].map((v, c) => (1 - BN_MOMENTUM) * v + BN_MOMENTUM * (sq[c] / (n - 1)));
        assert.ok(maxAbsDiff(train.runningMean!.dataSync(), wantMean) < 1e-6, `${name} running mean`);
        assert.ok(maxAbsDiff(train.runningVar!.dataSync(), wantVar) < 1e-6, `${name} running var`);
        const evalY = batchNorm(toTensor(x), p, false);
        assert.equal(evalY.runningMean, undefined);
        const want = Float64Array.from(x.data, (v, i) => ((v - [0.5, -0.25, 0][i % 3]) / Math.sqrt([1, 2, 0.5][i % 3] + 1e-5)) * weight.data[i % 3] + bias.data[i % 3]);
        assert.ok(maxAbsDiff(evalY.y.dataSync(), want) < 1e-5, `${name} batchNorm eval`);
      });
    }
  });

  test('BatchNorm refuses train mode with one value per channel, as PyTorch does', async () => {
    await useBackend(backends[0]);
    const p = { weight: tf.ones([2]) as tf.Tensor1D, bias: tf.zeros([2]) as tf.Tensor1D, runningMean: tf.zeros([2]) as tf.Tensor1D, runningVar: tf.ones([2]) as tf.Tensor1D };
    assert.throws(() => batchNorm(tf.ones([1, 1, 1, 2]) as tf.Tensor4D, p, true), /more than 1 value per channel/);
    tf.dispose(Object.values(p));
  });

  test('per-sample BatchNorm gives each sample its own train-mode statistics, and refuses one value per channel', async () => {
    for (const name of backends) {
      await useBackend(name);
      tf.tidy(() => {
        const [n, h, w, c] = [3, 4, 5, 2];
        const x = randomT64([n, h, w, c], 8);
        const weight = randomT64([c], 9);
        const bias = randomT64([c], 10);
        const p = { weight: tf.tensor1d(Float32Array.from(weight.data)), bias: tf.tensor1d(Float32Array.from(bias.data)), runningMean: tf.zeros([c]) as tf.Tensor1D, runningVar: tf.ones([c]) as tf.Tensor1D };
        const size = h * w * c;
        const want = new Float64Array(n * size);
        for (let k = 0; k < n; k++) want.set(batchNormTrainRef({ shape: [1, h, w, c], data: x.data.slice(k * size, (k + 1) * size) }, weight, bias).data, k * size);
        close(perSampleBatchNorm(toTensor(x), p), { shape: x.shape, data: want }, 1e-5, `${name} per-sample batchNorm`);
        assert.throws(() => perSampleBatchNorm(tf.ones([2, 1, 1, c]) as tf.Tensor4D, p), /more than 1 value per channel/);
      });
    }
  });

  test('dropout zeroes about half and doubles the rest in train mode only', async () => {
    for (const name of backends) {
      await useBackend(name);
      tf.tidy(() => {
        const x = tf.ones([1, 32, 32, 4]) as tf.Tensor4D;
        const y = dropout(x, true).dataSync();
        const zeros = y.filter((v) => v === 0).length;
        assert.ok(y.every((v) => v === 0 || v === 2), `${name}: values are 0 or 2`);
        assert.ok(zeros > 0.4 * y.length && zeros < 0.6 * y.length, `${name}: ${zeros} of ${y.length} zeroed`);
        assert.equal(dropout(x, false), x);
      });
    }
  });

  test('reflection padding needs sides larger than the padding', async () => {
    await useBackend(backends[0]);
    const x = tf.zeros([1, 3, 8, 1]) as tf.Tensor4D;
    assert.throws(() => reflectPad(x, 3), /needs sides larger than 3/);
    x.dispose();
  });
});
