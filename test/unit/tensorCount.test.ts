// tf.tidy discipline: the number of live tensors does not grow with repeated
// forward passes, nor with forward + backward passes, on each fast backend.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, useBackend } from '../../server/backend';
import { Discriminator, type ForwardMode, Generator } from '../../server/models/network';
import type { BackendName } from '../../protocol/server';

let backends: BackendName[] = [];
before(async () => {
  backends = (await availableBackends()).filter((b) => b !== 'cpu');
});

type Net = Generator | Discriminator;

// small networks: wasm runs single-threaded
function nets(): { name: string; net: Net; size: [number, number] }[] {
  return [
    { name: 'resnet_6blocks instance + dropout', net: Generator.init({ netG: 'resnet_6blocks', ngf: 4, norm: 'instance', inputNc: 3, outputNc: 3, useDropout: true }, 1), size: [16, 20] },
    { name: 'unet_128 batch + dropout', net: Generator.init({ netG: 'unet_128', ngf: 4, norm: 'batch', inputNc: 3, outputNc: 3, useDropout: true }, 2), size: [128, 128] },
    { name: 'basic PatchGAN batch', net: Discriminator.init({ netD: 'basic', ndf: 4, nLayers: 3, norm: 'batch', inputNc: 6 }, 3), size: [32, 32] },
    { name: 'pixel discriminator instance', net: Discriminator.init({ netD: 'pixel', ndf: 4, nLayers: 0, norm: 'instance', inputNc: 6 }, 4), size: [8, 8] },
  ];
}

function step(net: Net, x: tf.Tensor4D, mode: ForwardMode, backward: boolean): void {
  if (!backward) {
    net.apply(x, mode).dispose();
    return;
  }
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(net.apply(x, mode))) as tf.Scalar, net.trainableVariables());
  value.dispose();
  tf.dispose(grads);
}

describe('tensor count', () => {
  for (const [label, mode, backward] of [
    ['eval forward', { training: false }, false],
    ['train-mode forward (inference, batch statistics)', { training: true }, false],
    ['forward + backward with running-stat updates', { training: true, updateStats: true }, true],
  ] as [string, ForwardMode, boolean][]) {
    test(`${label}: constant after the first pass`, async () => {
      for (const backend of backends) {
        await useBackend(backend);
        const start = tf.memory().numTensors;
        for (const { name, net, size } of nets()) {
          const x = tf.randomUniform([2, size[0], size[1], net.spec.inputNc], -1, 1) as tf.Tensor4D;
          step(net, x, mode, backward);
          const first = tf.memory().numTensors;
          for (let i = 0; i < 3; i++) step(net, x, mode, backward);
          assert.equal(tf.memory().numTensors, first, `${backend} ${name}: ${first} tensors after the first pass, ${tf.memory().numTensors} after four`);
          x.dispose();
          net.dispose();
        }
        assert.equal(tf.memory().numTensors, start, `${backend}: tensors left after disposing the networks`);
      }
    });
  }

  test('creating and disposing networks leaves no tensor behind', async () => {
    for (const backend of backends) {
      await useBackend(backend);
      const before0 = tf.memory().numTensors;
      for (const { net } of nets()) net.dispose();
      assert.equal(tf.memory().numTensors, before0, backend);
    }
  });
});
