// Three official training iterations reproduced from the PyTorch fixtures:
// same initial weights, same inputs → same losses and same weights after.
// CycleGAN's later iterations are bounded by float32 drift, not epsilon: Adam
// turns rounding noise in near-zero gradients into whole learning-rate steps,
// and PyTorch itself in float64 ends 9.8e-4 (iteration 1) and 3.9e-3
// (iteration 2) away from its float32 losses, with update cosines 0.987-0.9998
// (bench/pytorch_float_noise.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../server/backend';
import { readPth } from '../../server/io/pth';
import { readNpy } from '../../server/io/npy';
import { Discriminator, Generator } from '../../server/models/network';
import type { DiscriminatorSpec, GeneratorSpec } from '../../server/models/spec';
import { CycleGanTrainer } from '../../server/train/cycleGan';
import { Pix2PixTrainer } from '../../server/train/pix2pix';
import type { Net, NetName } from '../../server/train/nets';
import { Rng } from '../../server/train/rng';
import { stateDictFromParams } from '../../server/models/params';

const FIX = path.resolve(__dirname, '../../../shared/fixtures/pytorch-train');

function nhwc(file: string): tf.Tensor4D {
  const a = readNpy(file);
  return tf.tidy(() => tf.transpose(tf.tensor4d(a.data, a.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

async function loadNets(dir: string, prefix: string, specs: Record<string, GeneratorSpec | DiscriminatorSpec>): Promise<Map<NetName, Net>> {
  const nets = new Map<NetName, Net>();
  for (const [name, spec] of Object.entries(specs)) {
    const file = path.join(dir, `${prefix}_net_${name}.pth`);
    const sd = await readPth(file);
    nets.set(name as NetName, 'netG' in spec ? Generator.fromStateDict(sd, spec, file) : Discriminator.fromStateDict(sd, spec as DiscriminatorSpec, file));
  }
  return nets;
}

interface Diff {
  /** Max relative loss difference in the first iteration (a pure forward pass from identical weights). */
  firstLoss: number;
  /** Max relative loss difference over all iterations. */
  loss: number;
  /** Max abs weight difference after the iterations. */
  weight: number;
  /** Per network, over conv/BN weights (biases before a norm have a zero true gradient): cosine between our weight change (after - init) and the official one, and the relative size of their difference. */
  update: Map<string, { cos: number; relDiff: number }>;
}

/**
 * Compares losses and end weights. Adam normalises each step by the gradient's
 * magnitude, so weights whose gradient is float32 noise (the conv biases before
 * InstanceNorm, whose true gradient is zero) move by up to lr per step in any
 * direction; the update cosine is the measure that exposes a wrong gradient.
 */
async function compare(dir: string, nets: Map<NetName, Net>, losses: Record<string, number>[]): Promise<Diff> {
  const steps = JSON.parse(fs.readFileSync(path.join(dir, 'steps.json'), 'utf8')) as { iterations: Record<string, number>[] };
  let loss = 0;
  let firstLoss = 0;
  steps.iterations.forEach((want, i) => {
    for (const [k, v] of Object.entries(want)) {
      assert.ok(k in losses[i], `loss ${k} missing`);
      const rel = Math.abs(losses[i][k] - v) / Math.max(Math.abs(v), 1e-3);
      if (process.env.FIDELITY_VERBOSE) console.log(`iter ${i} ${k}: ours ${losses[i][k]} official ${v} rel ${rel.toExponential(2)}`);
      loss = Math.max(loss, rel);
      if (i === 0) firstLoss = Math.max(firstLoss, rel);
    }
  });
  let weight = 0;
  const update = new Map<string, { cos: number; relDiff: number }>();
  for (const [name, net] of nets) {
    const init = await readPth(path.join(dir, `init_net_${name}.pth`));
    const after = await readPth(path.join(dir, `after3_net_${name}.pth`));
    const ours = stateDictFromParams(net.params);
    let dot = 0;
    let nOurs = 0;
    let nTheirs = 0;
    let nDiff = 0;
    for (const [key, t] of after) {
      const o = ours.get(key);
      assert.ok(o, `${name}.${key} missing`);
      if (key.endsWith('num_batches_tracked')) {
        assert.equal(o.data[0], t.data[0], `${name}.${key}`);
        continue;
      }
      const t0 = init.get(key)!.data;
      let keyMax = 0;
      for (let i = 0; i < t.data.length; i++) keyMax = Math.max(keyMax, Math.abs(o.data[i] - t.data[i]));
      if (process.env.FIDELITY_VERBOSE && keyMax > 1e-5) console.log(`${name}.${key}: max abs diff ${keyMax.toExponential(2)}`);
      for (let i = 0; i < t.data.length; i++) {
        weight = Math.max(weight, Math.abs(o.data[i] - t.data[i]));
        if (!key.endsWith('.weight')) continue;
        const a = o.data[i] - t0[i];
        const b = t.data[i] - t0[i];
        dot += a * b;
        nOurs += a * a;
        nTheirs += b * b;
        nDiff += (a - b) * (a - b);
      }
    }
    update.set(name, { cos: dot / Math.sqrt(nOurs * nTheirs), relDiff: Math.sqrt(nDiff / nTheirs) });
  }
  return { firstLoss, loss, weight, update };
}

function report(label: string, d: Diff): void {
  const upd = [...d.update].map(([n, u]) => `${n} cos ${u.cos.toFixed(5)} rel ${u.relDiff.toExponential(1)}`).join(', ');
  console.log(`${label}: first-iteration losses max rel diff ${d.firstLoss.toExponential(2)}, all iterations ${d.loss.toExponential(2)}; max abs weight diff ${d.weight.toExponential(2)}; updates: ${upd}`);
}

/**
 * Thresholds from measurement: the first iteration (a forward from identical
 * weights) agrees to ~1e-6; after that, float32 rounding that Adam amplifies
 * grows the loss differences to ~1e-3 on native and wasm alike (our native
 * and wasm runs differ from each other as much as from PyTorch), while a
 * wrong gradient would turn the weight updates away from the official ones.
 */
function assertClose(d: Diff): void {
  assert.ok(d.firstLoss < 1e-5, `first-iteration losses differ by ${d.firstLoss}`);
  assert.ok(d.loss < 5e-3, `losses differ by ${d.loss}`);
  for (const [name, u] of d.update) assert.ok(u.cos > 0.98, `${name}: our weight updates point elsewhere (cosine ${u.cos})`);
}

/** The fixture's three iterations through `trainer`, compared with the official losses and weights. */
async function checkOfficialIterations(label: string, dir: string, nets: Map<NetName, Net>, trainer: CycleGanTrainer | Pix2PixTrainer): Promise<void> {
  const losses = [];
  for (let k = 0; k < 3; k++) {
    const a = nhwc(path.join(dir, `iter${k}_A.npy`));
    const b = nhwc(path.join(dir, `iter${k}_B.npy`));
    losses.push(trainer.step(a, b, 0.0002));
    tf.dispose([a, b]);
  }
  const diff = await compare(dir, nets, losses);
  report(label, diff);
  assertClose(diff);
  trainer.dispose();
  for (const n of nets.values()) n.dispose();
}

test('CycleGAN: three official iterations give the official losses and weights', async () => {
  const backend = await initBackend();
  const dir = path.join(FIX, 'cyclegan_r6_ngf16_ndf16_64');
  const g: GeneratorSpec = { netG: 'resnet_6blocks', ngf: 16, norm: 'instance', inputNc: 3, outputNc: 3, useDropout: false };
  const d: DiscriminatorSpec = { netD: 'basic', ndf: 16, nLayers: 3, norm: 'instance', inputNc: 3 };
  const nets = await loadNets(dir, 'init', { G_A: g, G_B: g, D_A: d, D_B: d });
  const trainer = new CycleGanTrainer({ gan_mode: 'lsgan', lambda_A: 10, lambda_B: 10, lambda_identity: 0.5, pool_size: 50, beta1: 0.5 }, nets, Rng.from(0));
  await checkOfficialIterations(`cyclegan on ${backend.name}`, dir, nets, trainer);
});

test('pix2pix: three official iterations give the official losses and weights (BatchNorm running statistics included)', async () => {
  const backend = await initBackend();
  const dir = path.join(FIX, 'pix2pix_unet128_ngf16_ndf16_128_nodropout');
  const g: GeneratorSpec = { netG: 'unet_128', ngf: 16, norm: 'batch', inputNc: 3, outputNc: 3, useDropout: false };
  const d: DiscriminatorSpec = { netD: 'basic', ndf: 16, nLayers: 3, norm: 'batch', inputNc: 6 };
  const nets = await loadNets(dir, 'init', { G: g, D: d });
  const trainer = new Pix2PixTrainer({ gan_mode: 'vanilla', lambda_L1: 100, beta1: 0.5 }, nets, Rng.from(0));
  await checkOfficialIterations(`pix2pix on ${backend.name}`, dir, nets, trainer);
});
