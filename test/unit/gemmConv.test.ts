// Our FMA convolutions (native/dt_gemm_conv.cc): the forward pass against a
// float64 convolution, both gradients against TF's own kernels, over the
// shapes where its blocking has edges (tiles past the pixels or the output
// channels, reduction blocks, tiles across filter taps, asymmetric padding,
// rows a strided conv never reads), on both of its paths (up to 192 output
// pixels the cores split the filter's columns, WideGemm; beyond, the pixels),
// and an image's result whatever its batch and so whichever path it took and
// whether its patches were read in place or copied;
// the convolution into one channel (native/dt_conv_to_one.cc) likewise.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, useBackend } from '../../server/backend';
import { FILTER_GRADS, INPUT_GRADS, conv2d } from '../../server/models/layers/conv';
import { fastestChoices } from '../../server/models/layers/fastest';
import { dtConvToOne, dtKernelsStatus, gemmConv2d, gemmConvs, gemmFilterGrad, gemmInputGrad } from '../../server/models/layers/nativeKernels';
import { conv2dRef, relativeError } from './support/layerReference';

/** Whether this CPU has AVX2 and FMA, from /proc/cpuinfo. */
function cpuHasFma(): boolean {
  const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
  return flags.includes('avx2') && flags.includes('fma');
}

let native = false;
before(async () => {
  native = (await availableBackends()).includes('tensorflow');
  if (native) await useBackend('tensorflow');
});

describe('FMA convolutions (native/dt_gemm_conv.cc)', () => {
  test('run wherever the native kernels do on a CPU with AVX2 and FMA', () => {
    if (!native) return;
    assert.equal(gemmConvs(), cpuHasFma(), `gemm convolutions ${gemmConvs() ? 'on' : 'off'}: ${dtKernelsStatus().why}`);
  });

  // [x (unpadded), kernel, stride, output channels, [top, bottom, left, right]]
  const convs: [[number, number, number, number], number, number, number, number[]][] = [
    [[1, 16, 16, 128], 3, 1, 128, [1, 1, 1, 1]], // 1152 patch columns: reduction blocks of 256 and a partial one
    [[3, 9, 11, 8], 3, 2, 21, [1, 1, 0, 1]], // 75 pixels (a partial tile), 21 channels (a partial slab), asymmetric padding
    [[1, 20, 20, 3], 7, 1, 32, [3, 3, 3, 3]], // from RGB: runs of 3 channels per tap
    [[2, 10, 10, 256], 4, 1, 40, [0, 0, 0, 0]],
    [[1, 40, 40, 64], 4, 2, 128, [1, 1, 1, 1]], // several blocks of 96 pixels per core
    [[1, 30, 30, 32], 7, 1, 3, [0, 0, 0, 0]], // into 3 channels
    [[1, 6, 6, 512], 4, 2, 1000, [1, 1, 1, 1]], // 9 pixels (few: the columns split), 8192 patch columns, 63 slabs, the last partial
  ];

  test('Conv2D equals a float64 convolution', (t) => {
    if (!gemmConvs()) return;
    let worst = 0;
    for (const [shape, k, stride, o, p] of convs) {
      const err = tf.tidy(() => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', k) as tf.Tensor4D;
        const w = tf.randomNormal([k, k, shape[3], o], 0, 0.1, 'float32', o) as tf.Tensor4D;
        const padded = tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]);
        const want = conv2dRef({ shape: padded.shape, data: Float64Array.from(padded.dataSync()) }, { shape: w.shape, data: Float64Array.from(w.dataSync()) }, stride, 0);
        const got = gemmConv2d(x, w, stride, p);
        assert.deepEqual(got.shape, want.shape);
        return relativeError(got.dataSync(), want.data);
      });
      assert.ok(err < 1e-5, `${shape.join('x')} k${k} s${stride} pads ${p} -> ${o}: relative difference ${err}`);
      worst = Math.max(worst, err);
    }
    t.diagnostic(`gemm Conv2D vs float64: worst relative difference ${worst.toExponential(2)}`);
  });

  test("the weight gradient equals TF's Conv2DBackpropFilter", (t) => {
    if (!gemmConvs()) return;
    // [x (padded), kernel, stride, output channels]
    const layers: [[number, number, number, number], number, number, number][] = [
      [[1, 18, 18, 128], 3, 1, 128],
      [[3, 18, 18, 64], 3, 1, 64],
      [[2, 12, 12, 8], 3, 1, 16], // tiles of 6 patch columns across taps of 8 channels
      [[2, 10, 10, 256], 4, 1, 40], // 4096 patch columns (not a multiple of 6), 40 channels
      [[1, 35, 35, 8], 4, 2, 16], // a row and a column the strided conv never reads
      [[2, 35, 33, 32], 3, 2, 64],
      [[1, 70, 70, 3], 7, 1, 32], // from RGB; 4096 pixels in reduction blocks of 256
    ];
    let worst = 0;
    for (const [shape, k, stride, o] of layers) {
      const err = tf.tidy(() => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', k) as tf.Tensor4D;
        const w = [k, k, shape[3], o] as [number, number, number, number];
        const dy = tf.randomNormal(tf.conv2d(x, tf.zeros(w) as tf.Tensor4D, stride, 'valid').shape, 0, 1, 'float32', 5) as tf.Tensor4D;
        return relativeError(gemmFilterGrad(x, dy, w, stride).dataSync(), FILTER_GRADS.native(x, dy, w, stride).dataSync());
      });
      assert.ok(err < 1e-5, `${shape.join('x')} k${k} s${stride} -> ${o}: relative difference ${err}`);
      worst = Math.max(worst, err);
    }
    t.diagnostic(`gemm dW vs TF's kernel: worst relative difference ${worst.toExponential(2)}`);
  });

  test('the weight gradient of a zero-padded input gathers the zeros: the same values, bit for bit, as from a padded copy', () => {
    if (!gemmConvs()) return;
    // [x, kernel, stride, output channels, pad]
    const layers: [[number, number, number, number], number, number, number, number][] = [
      [[1, 16, 16, 64], 4, 2, 32, 1], // PatchGAN's and the U-Net's 4x4 stride 2: whole taps copied, or zeros
      [[2, 9, 7, 3], 4, 1, 8, 1], // 3 channels: tiles of 6 patch columns across taps, gathered one by one
      [[1, 5, 5, 8], 3, 1, 16, 3], // windows wholly in the padding
    ];
    tf.tidy(() => {
      for (const [shape, k, stride, o, pad] of layers) {
        const x = tf.randomNormal(shape, 0, 1, 'float32', k) as tf.Tensor4D;
        const padded = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) as tf.Tensor4D;
        const w = [k, k, shape[3], o] as [number, number, number, number];
        const dy = tf.randomNormal(tf.conv2d(padded, tf.zeros(w) as tf.Tensor4D, stride, 'valid').shape, 0, 1, 'float32', 6) as tf.Tensor4D;
        assert.deepEqual(gemmFilterGrad(x, dy, w, stride, pad).dataSync(), gemmFilterGrad(padded, dy, w, stride).dataSync(), `${shape.join('x')} k${k} s${stride} pad ${pad}`);
      }
    });
  });

  test("the input gradient equals TF's Conv2DBackpropInput, cropped by the forward pass's padding", (t) => {
    if (!gemmConvs()) return;
    // [x (padded), kernel, stride, output channels, crop]
    const layers: [[number, number, number, number], number, number, number, number][] = [
      [[2, 18, 18, 128], 3, 1, 128, 1], // stride 1: one phase
      [[1, 66, 66, 64], 4, 2, 128, 1], // the U-Net's and PatchGAN's 4x4 stride 2: four phases of 2x2 taps
      [[3, 17, 17, 32], 3, 2, 64, 1], // 3x3 stride 2: phases of 2x2, 2x1, 1x2 and 1x1 taps
      [[2, 35, 33, 21], 3, 2, 40, 0], // 21 channels (a partial slab), a row and a column the conv never reads
      [[1, 9, 9, 8], 1, 2, 16, 0], // 1x1 stride 2: three phases no tap reaches (zeros)
      [[1, 22, 22, 3], 7, 1, 32, 3], // into RGB
      [[1, 6, 6, 512], 4, 2, 512, 1], // phases of 2x2 pixels, fewer tiles than cores
      [[2, 12, 12, 40], 4, 2, 256, 1], // phases of 2x5x5 pixels (few: the columns split), 40 channels (a partial slab)
    ];
    let worst = 0;
    for (const [shape, k, stride, o, crop] of layers) {
      const err = tf.tidy(() => {
        const w = tf.randomNormal([k, k, shape[3], o], 0, 0.1, 'float32', o) as tf.Tensor4D;
        const dy = tf.randomNormal(tf.conv2d(tf.zeros(shape) as tf.Tensor4D, w, stride, 'valid').shape, 0, 1, 'float32', 5) as tf.Tensor4D;
        const inner = [shape[0], shape[1] - 2 * crop, shape[2] - 2 * crop, shape[3]];
        const want = tf.slice(INPUT_GRADS.native(dy, w, shape, stride), [0, crop, crop, 0], inner);
        const got = gemmInputGrad(dy, w, inner, stride, crop);
        assert.deepEqual(got.shape, want.shape);
        return relativeError(got.dataSync(), want.dataSync());
      });
      assert.ok(err < 1e-5, `${shape.join('x')} k${k} s${stride} -> ${o} crop ${crop}: relative difference ${err}`);
      worst = Math.max(worst, err);
    }
    t.diagnostic(`gemm dx vs TF's kernel: worst relative difference ${worst.toExponential(2)}`);
  });

  test("give an image the same values alone as in a batch, and the same values on every run", () => {
    if (!gemmConvs()) return;
    tf.tidy(() => {
      // 10x10 = 100 pixels alone (columns split over the cores), 300 in the batch (pixels split)
      const x = tf.randomNormal([3, 10, 10, 32], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 32, 64], 0, 0.1, 'float32', 2) as tf.Tensor4D;
      const batch = gemmConv2d(x, w, 1, [1, 1, 1, 1]);
      // and the input gradient of a stride-2 conv: 8x8 of dy into 18x18, phases of 81 pixels alone, 243 in the batch
      const dy2 = tf.randomNormal([3, 8, 8, 64], 0, 1, 'float32', 4) as tf.Tensor4D;
      const dxBatch = gemmInputGrad(dy2, w, [3, 18, 18, 32], 2);
      for (let i = 0; i < 3; i++) {
        const alone = gemmConv2d(tf.slice(x, [i, 0, 0, 0], [1, 10, 10, 32]), w, 1, [1, 1, 1, 1]);
        assert.deepEqual(alone.dataSync(), tf.slice(batch, [i, 0, 0, 0], [1, 10, 10, 64]).dataSync(), `image ${i}`);
        const dxAlone = gemmInputGrad(tf.slice(dy2, [i, 0, 0, 0], [1, 8, 8, 64]), w, [1, 18, 18, 32], 2);
        assert.deepEqual(dxAlone.dataSync(), tf.slice(dxBatch, [i, 0, 0, 0], [1, 18, 18, 32]).dataSync(), `dx of image ${i}`);
      }
      const dy = tf.randomNormal([3, 8, 8, 64], 0, 1, 'float32', 3) as tf.Tensor4D;
      const first = gemmFilterGrad(x, dy, [3, 3, 32, 64], 1).dataSync();
      for (let run = 0; run < 5; run++) assert.deepEqual(gemmFilterGrad(x, dy, [3, 3, 32, 64], 1).dataSync(), first, `run ${run}`);
    });
  });

  test('windows inside x are read where they lie, the others copied: an image gets the same values, bit for bit, wherever its tiles of 6 pixels fall', () => {
    if (!gemmConvs()) return;
    // [x, kernel, stride, pads]: 441 and 529 output pixels an image (not multiples of 6, more than the 192 where
    // the columns split), so the second image's tiles are shifted against it alone: a tile that lies in one
    // output row (read in place) alone spans two (copied) in the batch, and the other way round
    const convs: [[number, number, number, number], number, number, number[]][] = [
      [[2, 23, 23, 16], 3, 1, [0, 0, 0, 0]],
      [[2, 45, 45, 3], 7, 2, [3, 3, 3, 3]], // from RGB at stride 2: runs of 21 per window row, the border copied with its zeros
    ];
    tf.tidy(() => {
      for (const [shape, k, stride, p] of convs) {
        const x = tf.randomNormal(shape, 0, 1, 'float32', 7) as tf.Tensor4D;
        const w = tf.randomNormal([k, k, shape[3], 24], 0, 0.1, 'float32', 8) as tf.Tensor4D;
        const batch = gemmConv2d(x, w, stride, p);
        const [, oh, ow, o] = batch.shape;
        for (let i = 0; i < 2; i++) {
          const alone = gemmConv2d(tf.slice(x, [i, 0, 0, 0], [1, ...shape.slice(1)]), w, stride, p);
          assert.deepEqual(alone.dataSync(), tf.slice(batch, [i, 0, 0, 0], [1, oh, ow, o]).dataSync(), `${shape.join('x')} k${k} s${stride}: image ${i}`);
        }
      }
    });
  });

  test('Conv2D chooses among the split, FMA and Winograd kernels per stride, not only per shape', () => {
    if (!gemmConvs()) return;
    // PatchGAN's fourth conv (stride 1) and the U-Net's fourth (stride 2) take the same input and filter shapes
    tf.tidy(() => {
      const x = tf.randomNormal([1, 12, 12, 16]) as tf.Tensor4D;
      const w = tf.randomNormal([4, 4, 16, 32]) as tf.Tensor4D;
      for (const stride of [1, 2]) tf.conv2d(x, w, stride, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    });
    const keys = [...fastestChoices().keys()].filter((k) => k.startsWith('conv2d 12,12,16 4,4,16,32 '));
    assert.equal(keys.length, 2, `one choice per stride: ${keys.join('; ')}`);
  });

  test('an empty batch gives an empty result and a zero weight gradient; shapes that do not fit are refused', () => {
    if (!gemmConvs()) return;
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      assert.deepEqual(gemmConv2d(tf.zeros([0, 8, 8, 4]), tf.ones([3, 3, 4, 2]), 1, [0, 0, 0, 0]).shape, [0, 6, 6, 2]);
      const dw = gemmFilterGrad(tf.zeros([0, 8, 8, 4]), tf.zeros([0, 6, 6, 2]), [3, 3, 4, 2], 1);
      assert.deepEqual([dw.shape, Math.max(...dw.dataSync()), Math.min(...dw.dataSync())], [[3, 3, 4, 2], 0, 0]);
      assert.throws(() => gemmConv2d(tf.zeros([1, 8, 8, 4]), tf.zeros([3, 3, 5, 2]), 1, [0, 0, 0, 0]), /DtGemmConv2D: the filter's input channels must match x's/);
      assert.throws(() => gemmConv2d(tf.zeros([1, 2, 2, 4]), tf.zeros([3, 3, 4, 2]), 1, [0, 0, 0, 0]), /DtGemmConv2D: .* the padded x cover the filter/);
      assert.throws(() => gemmFilterGrad(tf.zeros([1, 8, 8, 4]), tf.zeros([1, 5, 5, 2]), [3, 3, 4, 2], 1), /DtGemmConv2DBackpropFilter: dy's shape must be the convolution's output for x zero-padded by pad/);
      assert.throws(() => gemmInputGrad(tf.zeros([1, 6, 6, 2]), tf.zeros([3, 3, 4, 3]), [1, 8, 8, 4], 1), /DtGemmConv2DBackpropInput: the filter's output channels must match dy's/);
      assert.deepEqual(gemmInputGrad(tf.zeros([0, 6, 6, 2]), tf.ones([3, 3, 4, 2]), [0, 8, 8, 4], 1).shape, [0, 8, 8, 4]);
    });
    assert.equal(tf.memory().numTensors, before);
  });

  test('into one channel (native/dt_conv_to_one.cc): conv2d, its input and weight gradients equal TF\'s kernels on the padded input; an image alone as in its batch', () => {
    if (!gemmConvs()) return;
    // [x, kernel, pad]: PatchGAN's last conv, a channel count that leaves a tail of the 32 lanes and 64-channel chunks, no padding
    const layers: [[number, number, number, number], number, number][] = [[[1, 31, 31, 512], 4, 1], [[2, 7, 9, 13], 4, 2], [[2, 6, 5, 40], 3, 0]];
    let worst = 0;
    for (const [shape, k, pad] of layers) {
      tf.tidy(() => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', 21) as tf.Tensor4D;
        const w = tf.randomNormal([k, k, shape[3], 1], 0, 0.1, 'float32', 22) as tf.Tensor4D;
        const padded = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) as tf.Tensor4D;
        const y = conv2d(x, w, { stride: 1, pad });
        assert.deepEqual(y.dataSync(), dtConvToOne(x, w, pad).dataSync(), 'conv2d runs it');
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 23) as tf.Tensor4D;
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(dtConvToOne(a as tf.Tensor4D, b as tf.Tensor4D, pad), dy)))([x, w]);
        const errs = [
          relativeError(y.dataSync(), tf.conv2d(padded, w, 1, 'valid').dataSync()),
          relativeError(dx.dataSync(), tf.slice(INPUT_GRADS.native(dy, w, padded.shape, 1), [0, pad, pad, 0], shape).dataSync()),
          relativeError(dw.dataSync(), FILTER_GRADS.native(padded, dy, [k, k, shape[3], 1], 1).dataSync()),
        ];
        assert.ok(errs.every((e) => e < 1e-5), `${shape.join('x')} k${k} pad ${pad}: y, dx, dw relative differences ${errs}`);
        worst = Math.max(worst, ...errs);
        if (shape[0] > 1) {
          const alone = dtConvToOne(tf.slice(x, [1, 0, 0, 0], [1, ...shape.slice(1)]), w, pad);
          assert.deepEqual(alone.dataSync(), tf.slice(y, [1, 0, 0, 0], [1, ...y.shape.slice(1)]).dataSync(), `${shape.join('x')}: image 1 alone`);
        }
      });
    }
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      assert.throws(() => dtConvToOne(tf.zeros([1, 8, 8, 4]), tf.zeros([3, 3, 4, 2]), 1), /DtConvToOne: the filter must be \[kh, kw, C, 1\] with x's C/);
      assert.throws(() => dtConvToOne(tf.zeros([1, 2, 2, 4]), tf.zeros([4, 4, 4, 1]), 0), /and the padded x cover it/);
    });
    assert.equal(tf.memory().numTensors, before);
  });
});
