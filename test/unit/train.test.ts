// Training on the shared datasets at small sizes: options, schedule, run
// folders, a loss that goes down when overfitting, constant tensor count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend } from '../../server/backend';
import { loadTransformed } from '../../server/data/preprocess';
import { learningRate, resolveOptions, type TrainOptions } from '../../server/options/options';
import { startTraining } from '../../server/train/session';
import { initNets } from '../../server/train/nets';
import { CycleGanTrainer } from '../../server/train/cycleGan';
import { Pix2PixTrainer } from '../../server/train/pix2pix';
import { Rng } from '../../server/train/rng';
import { ImagePool } from '../../server/train/imagePool';
import { validCheckpointStep } from '../../server/train/checkpoint';
import type { StepRecord } from '../../server/train/run';

const DATA = path.resolve(__dirname, '../../../shared/datasets');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `dt-${name}-`));

test('options: official defaults per model, presets, user values win, bad values are named', () => {
  const cg = resolveOptions({ dataroot: '/d', model: 'cyclegan', preset: 'full' }, { datasetSize: 400 });
  assert.equal(cg.netG, 'resnet_9blocks');
  assert.equal(cg.ngf, 64);
  assert.equal(cg.load_size, 286);
  assert.equal(cg.crop_size, 256);
  assert.equal(cg.no_dropout, true);
  assert.equal(cg.gan_mode, 'lsgan');
  assert.equal(cg.pool_size, 50);
  assert.equal(cg.lambda_identity, 0.5);
  assert.equal(cg.n_epochs, 100);
  assert.equal(cg.n_epochs_decay, 100);
  assert.equal(cg.iterations, 200 * 400);
  const p = resolveOptions({ dataroot: '/d', model: 'pix2pix', preset: 'full' }, { datasetSize: 400 });
  assert.deepEqual([p.netG, p.norm, p.gan_mode, p.pool_size, p.no_dropout, p.lambda_L1], ['unet_256', 'batch', 'vanilla', 0, false, 100]);
  const pv = resolveOptions({ dataroot: '/d', model: 'cyclegan', preset: 'preview', ngf: 16 }, { datasetSize: 400 });
  assert.deepEqual([pv.crop_size, pv.netG, pv.ngf, pv.iterations], [64, 'resnet_6blocks', 16, 1000]);
  // 1000 steps over 400 images = 3 epochs: 2 at the full rate, 1 decaying
  assert.deepEqual([pv.n_epochs, pv.n_epochs_decay], [2, 1]);
  assert.throws(() => resolveOptions({ dataroot: '/d', crop_size: 30, load_size: 20 }, { datasetSize: 4 }), /crop_size must be a multiple of 4.*load_size \(20\) must be at least crop_size/);
  assert.throws(() => resolveOptions({ dataroot: '/d', model: 'pix2pix', netG: 'unet_256', crop_size: 128 }, { datasetSize: 4 }), /unet_256 needs crop_size a multiple of 256/);
  assert.throws(() => resolveOptions({ dataroot: '/d', ...({ niter: 5 } as object) }, { datasetSize: 4 }), /unknown option niter/);
});

test('linear policy: n_epochs at lr, then linear decay over n_epochs_decay + 1', () => {
  const o = { lr: 0.0002, n_epochs: 100, n_epochs_decay: 100 };
  assert.equal(learningRate(o, 1), 0.0002);
  assert.equal(learningRate(o, 100), 0.0002);
  assert.ok(Math.abs(learningRate(o, 101) - 0.0002 * (1 - 1 / 101)) < 1e-15);
  assert.ok(Math.abs(learningRate(o, 200) - 0.0002 / 101) < 1e-15);
});

function small(overrides: Partial<TrainOptions>) {
  return { crop_size: 32, load_size: 36, ngf: 8, ndf: 8, netG: 'resnet_6blocks' as const, print_every: 1, sample_every: 2, save_every: 2, ...overrides };
}

test('CycleGAN trains 3 steps on horse2zebra-mini into a complete run folder', async () => {
  const run = path.join(tmp('cg'), 'run');
  const steps: StepRecord[] = [];
  const samples: string[] = [];
  const r = await startTraining({ dataroot: path.join(DATA, 'horse2zebra-mini'), iterations: 3, run, ...small({}) }, { onStep: (s) => steps.push(s), onSample: (f) => samples.push(f) });
  assert.equal(r.step, 3);
  assert.equal(steps.length, 3);
  for (const s of steps) {
    assert.deepEqual(Object.keys(s.losses), ['D_A', 'G_A', 'cycle_A', 'idt_A', 'D_B', 'G_B', 'cycle_B', 'idt_B']);
    for (const v of Object.values(s.losses)) assert.ok(Number.isFinite(v) && v >= 0);
    assert.equal(s.lr, 0.0002);
  }
  const options = JSON.parse(fs.readFileSync(path.join(run, 'options.json'), 'utf8')) as TrainOptions;
  assert.equal(options.model, 'cyclegan');
  assert.equal(options.lambda_A, 10);
  assert.equal(options.dataroot, path.join(DATA, 'horse2zebra-mini'));
  const log = fs.readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StepRecord);
  assert.deepEqual(log.map((l) => l.step), [1, 2, 3]);
  assert.deepEqual(samples.map((f) => path.basename(f)), ['step-0000002.png', 'step-0000003.png']);
  const meta = await sharp(samples[1]).metadata();
  // two probes, each an A row and a B row; columns x | G(x) | F(G(x))
  assert.deepEqual([meta.width, meta.height], [96, 128]);
  assert.equal(await validCheckpointStep(path.join(run, 'checkpoints', 'latest')), 3);
  for (const n of ['G_A', 'G_B', 'D_A', 'D_B']) assert.ok(fs.existsSync(path.join(run, 'checkpoints', 'latest', `latest_net_${n}.pth`)));
});

test('pix2pix trains 3 steps on facades (BtoA, BatchNorm, dropout) into a run folder', async () => {
  const run = path.join(tmp('p2p'), 'run');
  const steps: StepRecord[] = [];
  const r = await startTraining(
    { dataroot: path.join(DATA, 'facades'), model: 'pix2pix', direction: 'BtoA', iterations: 3, run, crop_size: 128, load_size: 136, ngf: 8, ndf: 8, netG: 'unet_128', print_every: 1, sample_every: 3, save_every: 3 },
    { onStep: (s) => steps.push(s) },
  );
  assert.equal(r.step, 3);
  assert.deepEqual(Object.keys(steps[0].losses), ['G_GAN', 'G_L1', 'D_real', 'D_fake']);
  for (const s of steps) for (const v of Object.values(s.losses)) assert.ok(Number.isFinite(v) && v >= 0);
  assert.equal(await validCheckpointStep(path.join(run, 'checkpoints', 'latest')), 3);
  assert.ok(fs.existsSync(path.join(run, 'checkpoints', 'latest', 'latest_net_G.pth')));
  const meta = await sharp(path.join(run, 'samples', 'step-0000003.png')).metadata();
  assert.deepEqual([meta.width, meta.height], [384, 256]);
});

test('overfitting one pair drives the pix2pix L1 loss down', async () => {
  await initBackend();
  const o = resolveOptions({ dataroot: '/unused', model: 'pix2pix', netG: 'resnet_6blocks', ngf: 8, ndf: 8, crop_size: 32, lr: 0.002 }, { datasetSize: 1 });
  const nets = initNets({ ...o, no_dropout: true });
  const trainer = new Pix2PixTrainer(o, nets, Rng.from(1));
  // a real image pair, fixed: A = a photo, B = its colour-inverted version
  const img = await loadTransformed(path.join(DATA, 'horse2zebra-mini/trainA/n02381460_1001.jpg'), { preprocess: 'resize_and_crop', load_size: 32, crop_size: 32, no_flip: true }, 'whole', { x: 0, y: 0, flip: false });
  const a = tf.tensor4d(img.data, [1, 32, 32, 3]);
  const b = tf.tidy(() => tf.neg(a) as tf.Tensor4D);
  const l1: number[] = [];
  for (let i = 0; i < 40; i++) l1.push(trainer.step(a, b, o.lr).G_L1);
  const first = l1.slice(0, 3).reduce((x, y) => x + y) / 3;
  const last = l1.slice(-3).reduce((x, y) => x + y) / 3;
  assert.ok(last < 0.5 * first, `G_L1 went from ${first.toFixed(2)} to ${last.toFixed(2)}`);
  tf.dispose([a, b]);
  trainer.dispose();
  for (const n of nets.values()) n.dispose();
});

test('the number of live tensors is the same after every iteration (CycleGAN with a full pool, pix2pix)', async () => {
  await initBackend();
  const o = resolveOptions({ dataroot: '/unused', model: 'cyclegan', ngf: 8, ndf: 8, crop_size: 32, pool_size: 2 }, { datasetSize: 1 });
  const nets = initNets(o);
  const trainer = new CycleGanTrainer(o, nets, Rng.from(2));
  // batch 2: the pool takes the batch apart image by image, as the official one
  const a = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const b = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
  const counts: number[] = [];
  for (let i = 0; i < 5; i++) {
    trainer.step(a, b, 0.0002);
    counts.push(tf.memory().numTensors);
  }
  // the pools (2 images each) fill in the first step, then the count stays
  assert.equal(trainer.pools.fake_A.size, 2);
  assert.deepEqual(counts.slice(1), [counts[1], counts[1], counts[1], counts[1]], `counts ${counts.join(', ')}`);
  const o2 = resolveOptions({ dataroot: '/unused', model: 'pix2pix', ngf: 8, ndf: 8, crop_size: 128, netG: 'unet_128' }, { datasetSize: 1 });
  const nets2 = initNets(o2);
  const p2p = new Pix2PixTrainer(o2, nets2, Rng.from(3));
  const a2 = tf.randomUniform([2, 128, 128, 3], -1, 1) as tf.Tensor4D;
  const b2 = tf.randomUniform([2, 128, 128, 3], -1, 1) as tf.Tensor4D;
  const c2: number[] = [];
  for (let i = 0; i < 3; i++) {
    p2p.step(a2, b2, 0.0002);
    c2.push(tf.memory().numTensors);
  }
  assert.deepEqual(c2, [c2[0], c2[0], c2[0]]);
  tf.dispose([a, b, a2, b2]);
  trainer.dispose();
  p2p.dispose();
  for (const n of [...nets.values(), ...nets2.values()]) n.dispose();
});

test('image pool: stores until full, then returns a stored image (swapping in the new one) half the time', async () => {
  await initBackend();
  const pool = new ImagePool(3, Rng.from(9));
  const img = (v: number) => tf.fill([1, 1, 1, 1], v) as tf.Tensor4D;
  const value = (t: tf.Tensor) => t.dataSync()[0];
  for (let v = 0; v < 3; v++) {
    assert.equal(tf.tidy(() => value(pool.query(img(v)))), v, 'returned as is while filling');
  }
  assert.equal(pool.size, 3);
  let old = 0;
  const stored = new Set([0, 1, 2]);
  for (let v = 3; v < 403; v++) {
    const got = tf.tidy(() => value(pool.query(img(v))));
    if (got !== v) {
      assert.ok(stored.has(got), `returned ${got}, which the pool did not hold`);
      stored.delete(got);
      stored.add(v);
      old++;
    }
  }
  assert.ok(old > 160 && old < 240, `${old} of 400 queries returned a stored image`);
  const state = await pool.getState();
  assert.deepEqual(new Set(state.images.map((i) => i.data[0])), stored);
  pool.dispose();
});
