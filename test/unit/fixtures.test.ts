// The official PyTorch fixtures reproduced: each checkpoint loaded from its .pth,
// run on the fixture input, compared with PyTorch's output on every fast backend.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, useBackend } from '../../server/backend';
import { readNpy } from '../../server/io/npy';
import { readPth } from '../../server/io/pth';
import { detectNetwork } from '../../server/models/detect';
import { Discriminator, Generator } from '../../server/models/network';
import type { BackendName } from '../../protocol/server';

const PYTORCH = path.resolve(__dirname, '../../../shared/fixtures/pytorch');
const TOLERANCE = 1e-4;

// all three fixtures are in eval mode: BatchNorm running statistics, no dropout
const FIXTURES = ['resnet_6blocks_ngf32', 'unet_128_ngf16_batch_eval', 'patchgan_basic_ndf16_in6_batch_eval'];

let backends: BackendName[] = [];
before(async () => {
  // the pure-JS cpu backend is only the last resort; the product runs native or wasm
  backends = (await availableBackends()).filter((b) => b !== 'cpu');
});

describe('official PyTorch fixtures', () => {
  test('runs on wasm, and on native TensorFlow where tfjs-node is installed', (t) => {
    // wasm is a regular dependency; tfjs-node is optional (CI provisions it)
    assert.ok(backends.includes('wasm'), `backends: ${backends.join(', ')}`);
    t.diagnostic(`backends compared: ${backends.join(', ')}`);
  });

  for (const name of FIXTURES) {
    test(`${name} matches PyTorch's output to ${TOLERANCE}`, async (t) => {
      const file = path.join(PYTORCH, `${name}.pth`);
      const sd = await readPth(file);
      const detected = detectNetwork(sd, file);
      const input = readNpy(path.join(PYTORCH, `${name}.input.npy`));
      const expected = readNpy(path.join(PYTORCH, `${name}.output.npy`));
      for (const backend of backends) {
        await useBackend(backend);
        const net = detected.role === 'generator' ? Generator.fromStateDict(sd, detected.spec, file) : Discriminator.fromStateDict(sd, detected.spec, file);
        const out = tf.tidy(() => {
          const x = tf.transpose(tf.tensor4d(input.data, input.shape as [number, number, number, number]), [0, 2, 3, 1]);
          return tf.transpose(net.apply(x, { training: false }), [0, 3, 1, 2]);
        });
        assert.deepEqual(out.shape, expected.shape);
        const got = out.dataSync();
        let diff = 0;
        for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - expected.data[i]));
        out.dispose();
        net.dispose();
        t.diagnostic(`${backend}: max abs diff ${diff.toExponential(2)}`);
        assert.ok(diff <= TOLERANCE, `${name} on ${backend}: max abs diff ${diff}`);
      }
    });
  }
});
