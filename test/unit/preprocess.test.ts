// Official preprocessing: sizes per mode, crop/flip parameters, [-1, 1] values,
// aligned halves sharing crop and flip, datasets and the deterministic loader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getParams, loadTransformed, resizedSize, type PreprocessOptions } from '../../server/data/preprocess';
import { openTrainDataset, type DatasetOptions } from '../../server/data/datasets';
import { Loader } from '../../server/data/loader';
import { Rng } from '../../server/train/rng';

const DATA = path.resolve(__dirname, '../../../shared/datasets');
const horse = path.join(DATA, 'horse2zebra-mini/trainA/n02381460_1001.jpg');

const base: PreprocessOptions = { preprocess: 'resize_and_crop', load_size: 36, crop_size: 32, no_flip: false };

test('resize step sizes follow get_transform for every mode', () => {
  assert.deepEqual(resizedSize(base, 512, 256), { w: 36, h: 36 });
  assert.deepEqual(resizedSize({ ...base, preprocess: 'crop' }, 512, 256), { w: 512, h: 256 });
  // __scale_width: w = load_size, h = int(max(load_size * oh / ow, crop_size))
  assert.deepEqual(resizedSize({ ...base, preprocess: 'scale_width' }, 512, 256), { w: 36, h: 32 });
  assert.deepEqual(resizedSize({ ...base, preprocess: 'scale_width_and_crop', load_size: 64 }, 100, 300), { w: 64, h: 192 });
  // __make_power_2(base 4) with Python rounding (round half to even)
  assert.deepEqual(resizedSize({ ...base, preprocess: 'none' }, 257, 250), { w: 256, h: 248 });
  assert.deepEqual(resizedSize({ ...base, preprocess: 'none' }, 256, 256), { w: 256, h: 256 });
});

test('get_params draws crops inside the resized image and flips about half the time', () => {
  const rng = Rng.from(1);
  let flips = 0;
  for (let i = 0; i < 2000; i++) {
    const p = getParams(base, 512, 256, rng);
    assert.ok(p.x >= 0 && p.x <= 4 && p.y >= 0 && p.y <= 4);
    flips += p.flip ? 1 : 0;
  }
  assert.ok(flips > 900 && flips < 1100, `${flips} flips of 2000`);
});

test('loadTransformed: crop size, values in [-1, 1], flip mirrors the same crop', async () => {
  const plain = await loadTransformed(horse, base, 'whole', { x: 2, y: 3, flip: false });
  const flipped = await loadTransformed(horse, base, 'whole', { x: 2, y: 3, flip: true });
  assert.equal(plain.width, 32);
  assert.equal(plain.height, 32);
  assert.equal(plain.data.length, 32 * 32 * 3);
  let min = Infinity;
  let max = -Infinity;
  for (const v of plain.data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(min >= -1 && max <= 1 && max - min > 0.5, `range ${min}..${max}`);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) assert.equal(flipped.data[(y * 32 + x) * 3 + c], plain.data[(y * 32 + 31 - x) * 3 + c]);
  const noFlip = await loadTransformed(horse, { ...base, no_flip: true }, 'whole', { x: 2, y: 3, flip: true });
  assert.deepEqual(noFlip.data, plain.data);
});

test('aligned facades: A and B are the two halves with one shared crop and flip', async () => {
  const o: DatasetOptions = { ...base, load_size: 64, crop_size: 64, direction: 'AtoB', serial_batches: true };
  const ds = await openTrainDataset(path.join(DATA, 'facades'), o, 'pix2pix');
  assert.equal(ds.kind, 'aligned');
  assert.equal(ds.size, 400);
  const s = await ds.load(0, Rng.from(3));
  assert.equal(s.pathA, s.pathB);
  // with load = crop there is no crop, so the only shared parameter is the flip: recompute both halves by hand
  const p = getParams(o, 256, 256, Rng.from(3));
  const left = await loadTransformed(s.pathA, o, 'left', p);
  const right = await loadTransformed(s.pathA, o, 'right', p);
  assert.deepEqual(s.A.data, left.data);
  assert.deepEqual(s.B.data, right.data);
  assert.notDeepEqual(s.A.data, s.B.data);
  const btoa = await openTrainDataset(path.join(DATA, 'facades'), { ...o, direction: 'BtoA' }, 'pix2pix');
  const r = await btoa.load(0, Rng.from(3));
  assert.deepEqual(r.A.data, s.B.data);
  assert.deepEqual(r.B.data, s.A.data);
});

test('unaligned: B is drawn at random unless serial_batches; pix2pix refuses unpaired data', async () => {
  const o: DatasetOptions = { ...base, direction: 'AtoB', serial_batches: false };
  const root = path.join(DATA, 'horse2zebra-mini');
  const ds = await openTrainDataset(root, o, 'cyclegan');
  assert.equal(ds.size, 400);
  const bs = new Set<string>();
  for (let i = 0; i < 6; i++) bs.add(path.basename((await ds.load(0, Rng.from(i))).pathB));
  assert.ok(bs.size > 1, 'random B');
  const serial = await openTrainDataset(root, { ...o, serial_batches: true }, 'cyclegan');
  const s5 = await serial.load(5, Rng.from(0));
  const sorted = (d: string) => fs.readdirSync(path.join(root, d)).sort();
  assert.equal(path.basename(s5.pathA), sorted('trainA')[5]);
  assert.equal(path.basename(s5.pathB), sorted('trainB')[5]);
  const swapped = await openTrainDataset(root, { ...o, direction: 'BtoA' }, 'cyclegan');
  assert.match((await swapped.load(0, Rng.from(0))).pathA, /trainB/);
  await assert.rejects(openTrainDataset(root, o, 'pix2pix'), /pix2pix needs paired images/);
});

test('loader: batch k is the same whether reached in order or directly (what resume relies on)', async () => {
  const o: DatasetOptions = { ...base, direction: 'AtoB', serial_batches: false };
  const ds = await openTrainDataset(path.join(DATA, 'horse2zebra-mini'), o, 'cyclegan');
  const a = new Loader(ds, { batch_size: 2, serial_batches: false, seed: 7 });
  assert.equal(a.iterationsPerEpoch, 200);
  const b0 = await a.get(0);
  const b1 = await a.get(1);
  const direct = await new Loader(ds, { batch_size: 2, serial_batches: false, seed: 7 }).get(1);
  assert.deepEqual(b1.pathsA, direct.pathsA);
  assert.deepEqual(b1.A, direct.A);
  assert.deepEqual(b1.B, direct.B);
  assert.deepEqual(b0.shapeA, [2, 32, 32, 3]);
  assert.notDeepEqual(b0.pathsA, b1.pathsA);
  // an epoch visits every A image once
  const seen = new Set<number>();
  for (let k = 0; k < 200; k++) for (const i of a.indices(k).indices) seen.add(i);
  assert.equal(seen.size, 400);
  assert.equal(a.indices(200).epoch, 2);
});

test('files excluded in the curation manifest are not trained on', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-curated-'));
  for (const d of ['trainA', 'trainB']) fs.mkdirSync(path.join(root, d));
  const src = path.join(DATA, 'horse2zebra-mini/trainA');
  const names = fs.readdirSync(src).sort().slice(0, 3);
  for (const n of names) {
    fs.copyFileSync(path.join(src, n), path.join(root, 'trainA', n));
    fs.copyFileSync(path.join(src, n), path.join(root, 'trainB', n));
  }
  const o: DatasetOptions = { ...base, direction: 'AtoB', serial_batches: true };
  assert.equal((await openTrainDataset(root, o, 'cyclegan')).size, 3);
  fs.writeFileSync(path.join(root, 'domain-translator.dataset.json'), JSON.stringify({ version: 1, excluded: [{ file: `trainA/${names[1]}`, reason: 'blurry', date: '2026-01-01T00:00:00.000Z' }], moves: [] }));
  const ds = await openTrainDataset(root, o, 'cyclegan');
  assert.equal(ds.size, 3, 'trainB still has 3');
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) seen.add(path.basename((await ds.load(i, Rng.from(i))).pathA));
  assert.deepEqual([...seen].sort(), [names[0], names[2]]);
});
