import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { ModelSummary, TranslateParams } from '../../protocol/server';
import { initBackend } from '../../server/backend';
import { decodeRgb, pixelsToTensor } from '../../server/data/imageIO';
import { loadGenerator } from '../../server/models/loadModel';
import { Generator } from '../../server/models/network';
import { runTranslation, type TranslateHooks } from '../../server/translate/pipeline';
import { translate } from '../../server/translate/translate';
import { buildCorpus, hashTree } from './support/badImageCorpus';

const shared = path.resolve(__dirname, '../../../shared');
const fixture = path.join(shared, 'fixtures/pytorch/resnet_6blocks_ngf32.pth');
const testA = path.join(shared, 'datasets/horse2zebra-mini/testA');

const quiet: TranslateHooks = { onProgress() {}, isCancelled: () => false };
const params = (inputs: string[], extra: Partial<TranslateParams> = {}): TranslateParams =>
  ({ inputs, model: fixture, direction: 'AtoB', eval: false, keepSize: false, ...extra });
const f = Math.fround;
/** Official tensor2im on one float: (x + 1) / 2 * 255 in float32, then astype(uint8). */
const tensor2im = (y: number) => Math.min(255, Math.max(0, Math.trunc(f(f(f(y + 1) / 2) * 255))));

let root: string;
let horses: string;
let horseNames: string[];

async function pngPixels(file: string) {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

before(async () => {
  await initBackend();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'translate-'));
  horses = path.join(root, 'horses');
  await fs.mkdir(horses);
  horseNames = (await fs.readdir(testA)).sort().slice(0, 5);
  for (const n of horseNames) await fs.copyFile(path.join(testA, n), path.join(horses, n));
});
after(() => fs.rm(root, { recursive: true, force: true }));

describe('translate with the official resnet_6blocks checkpoint', () => {
  test('5 horse2zebra images give 5 deterministic 256x256 PNGs in <folder>-to-B, matching the generator run directly', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const inputHashes = await hashTree(horses);
    const progress: number[] = [];
    const r = await translate(params([horses]), { onProgress: (done) => progress.push(done), isCancelled: () => false });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked');
    assert.deepEqual(await hashTree(horses), inputHashes, 'input folder changed');

    assert.equal(r.outDir, `${horses}-to-B`);
    assert.equal(r.cancelled, false);
    assert.equal(r.model.architecture, 'resnet_6blocks');
    assert.deepEqual(r.unreadable, []);
    assert.equal(r.nonImages, 0);
    assert.deepEqual(r.translated.map((t) => path.basename(t.output)), horseNames.map((n) => n.replace(/\.jpg$/, '.png')));
    assert.deepEqual((await fs.readdir(r.outDir)).sort(), horseNames.map((n) => n.replace(/\.jpg$/, '.png')).sort());
    assert.equal(progress.at(-1), 5);
    for (const t of r.translated) {
      const p = await pngPixels(t.output);
      assert.deepEqual([p.width, p.height, p.channels, t.width, t.height], [256, 256, 3, 256, 256]);
    }

    // Second run: a new folder, identical bytes.
    const again = await translate(params([horses]), quiet);
    assert.equal(again.outDir, `${horses}-to-B-2`);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await fs.readFile(again.translated[i].output), await fs.readFile(r.translated[i].output), `run 2 differs on ${horseNames[i]}`);
    }

    // The first output, against the generator applied by hand and tensor2im in plain JS.
    const { generator } = await loadGenerator(fixture, 'AtoB');
    const x = pixelsToTensor(await decodeRgb(path.join(horses, horseNames[0])));
    const y = generator.apply(x, { training: true });
    const expected = Array.from(await y.data(), tensor2im);
    tf.dispose([x, y]);
    generator.dispose();
    const got = await pngPixels(r.translated[0].output);
    let mismatches = 0;
    for (let i = 0; i < expected.length; i++) if (got.data[i] !== expected[i]) mismatches++;
    assert.equal(mismatches, 0, `${mismatches} of ${expected.length} values differ`);
    // A real translation: not the input, not flat.
    const input = await decodeRgb(path.join(horses, horseNames[0]));
    const meanAbsDiff = got.data.reduce((s, v, i) => s + Math.abs(v - input.data[i]), 0) / got.data.length;
    assert.ok(meanAbsDiff > 5, `output too close to input (${meanAbsDiff})`);
    assert.ok(new Set(got.data).size > 50, 'output is nearly constant');
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked');
  });

  test('a folder of corrupt, odd and non-image files: right counts and reasons, input byte-for-byte unchanged', async () => {
    const dir = path.join(root, 'corpus');
    await fs.mkdir(dir);
    const expect = await buildCorpus(dir);
    // 1x1 decodes, becomes 4x4 (__make_power_2), and is then too small for the ResNet's reflection
    // padding, as in the official code; it is listed with that reason and the run goes on.
    expect.set('tiny.png', { kind: 'unreadable', reason: /could not be translated at 4x4: .*reflection padding/ });
    const hashes = await hashTree(dir);
    const tensorsBefore = tf.memory().numTensors;
    const r = await translate(params([dir]), quiet);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked');
    assert.deepEqual(await hashTree(dir), hashes, 'input folder changed');

    const byName = (p: string) => path.basename(p);
    const images = [...expect].filter(([, e]) => e.kind === 'image');
    assert.deepEqual(r.translated.map((t) => byName(t.input)).sort(), images.map(([n]) => n).sort());
    for (const [name, e] of expect) {
      if (e.kind !== 'unreadable') continue;
      const u = r.unreadable.find((s) => byName(s.input) === name);
      assert.ok(u, `${name} is not listed as unreadable`);
      assert.match(u.reason, e.reason, name);
    }
    assert.equal(r.unreadable.length, [...expect.values()].filter((e) => e.kind === 'unreadable').length);
    assert.equal(r.nonImages, 2); // notes.txt, README; subfolder/ is not an input
    for (const t of r.translated) {
      const e = expect.get(byName(t.input));
      assert.ok(e?.kind === 'image');
      // Sides rounded to multiples of 4 like the official __make_power_2.
      const p = await pngPixels(t.output);
      assert.deepEqual([p.width, p.height], [Math.round(e.width / 4) * 4, Math.round(e.height / 4) * 4], t.input);
    }
    assert.ok(r.translated.some((t) => byName(t.output) === 'café 写真.png'));
    assert.ok(r.translated.some((t) => byName(t.output) === 'no-extension.png'));
    assert.deepEqual((await fs.readdir(r.outDir)).filter((n) => n.includes('.partial')), []);
  });

  test('--keep-size: a 250x190 input gives 248x192 (official rounding), or 250x190 with keepSize', async () => {
    const dir = path.join(root, 'odd-size');
    await fs.mkdir(dir);
    await sharp(path.join(horses, horseNames[1])).resize(250, 190, { fit: 'fill' }).jpeg().toFile(path.join(dir, 'odd.jpg'));
    const plain = await translate(params([dir]), quiet);
    const kept = await translate(params([dir], { keepSize: true }), quiet);
    assert.deepEqual([plain.translated[0].width, plain.translated[0].height], [248, 192]);
    assert.deepEqual([kept.translated[0].width, kept.translated[0].height], [250, 190]);
    const a = await pngPixels(plain.translated[0].output);
    const b = await pngPixels(kept.translated[0].output);
    assert.deepEqual([a.width, a.height, b.width, b.height], [248, 192, 250, 190]);
  });

  test('cancelled after 2 images: 2 complete PNGs, cancelled flag, no temp files, no leaked tensors', async () => {
    const tensorsBefore = tf.memory().numTensors;
    let asked = 0;
    const r = await translate(params([horses], { outDir: path.join(root, 'cancel-out') }), {
      onProgress() {},
      isCancelled: () => ++asked > 2,
    });
    assert.equal(r.cancelled, true);
    assert.equal(r.translated.length, 2);
    assert.deepEqual((await fs.readdir(r.outDir)).sort(), horseNames.slice(0, 2).map((n) => n.replace(/\.jpg$/, '.png')));
    for (const t of r.translated) assert.equal((await pngPixels(t.output)).width, 256);
    assert.equal(tf.memory().numTensors, tensorsBefore);
  });

  test('bad input: missing folder, corrupt .pth, existing outputs in --out — clear errors, nothing written', async () => {
    await assert.rejects(translate(params([path.join(root, 'missing')]), quiet), /missing: no such file or folder/);
    const bad = path.join(root, 'bad.pth');
    await fs.writeFile(bad, (await fs.readFile(fixture)).subarray(0, 5000));
    await assert.rejects(translate(params([horses], { model: bad }), quiet), (err: Error) => err.message.includes('bad.pth') && !err.message.includes('\n'));
    const out = path.join(root, 'taken');
    await fs.mkdir(out);
    await fs.writeFile(path.join(out, horseNames[3].replace(/\.jpg$/, '.png')), 'mine');
    await assert.rejects(translate(params([horses], { outDir: out }), quiet), /already holds .*never overwrites/);
    assert.deepEqual(await fs.readdir(out), [horseNames[3].replace(/\.jpg$/, '.png')]);
    assert.equal(await fs.readFile(path.join(out, horseNames[3].replace(/\.jpg$/, '.png')), 'utf8'), 'mine');
    await assert.rejects(translate(params([horses], { outDir: horses }), quiet), /cannot be the input folder/);
  });
});

describe('output naming', () => {
  test('-to-A for BtoA; files go to <parent>-to-B; a.jpg and a.png get distinct names', async () => {
    const dir = path.join(root, 'names');
    await fs.mkdir(dir);
    await fs.copyFile(path.join(horses, horseNames[0]), path.join(dir, 'a.jpg'));
    await sharp(path.join(horses, horseNames[1])).png().toFile(path.join(dir, 'a.png'));
    const toA = await translate(params([dir], { direction: 'BtoA' }), quiet);
    assert.equal(toA.outDir, `${dir}-to-A`);
    assert.equal(toA.translated.find((t) => t.input.endsWith('a.png'))?.output, path.join(toA.outDir, 'a.png'));
    assert.equal(toA.translated.find((t) => t.input.endsWith('a.jpg'))?.output, path.join(toA.outDir, 'a.jpg.png'));

    const files = await translate(params([path.join(dir, 'a.jpg')]), quiet);
    assert.equal(files.outDir, `${dir}-to-B`);
    assert.deepEqual(await fs.readdir(files.outDir), ['a.png']);
    const filesAgain = await translate(params([path.join(dir, 'a.jpg')]), quiet);
    assert.equal(filesAgain.outDir, `${dir}-to-B-2`);
  });

  test('nothing to translate: no output folder is created', async () => {
    const dir = path.join(root, 'only-text');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'hello');
    const r = await translate(params([dir]), quiet);
    assert.deepEqual([r.translated.length, r.nonImages], [0, 1]);
    assert.equal(await fs.stat(r.outDir).then(() => true, () => false), false);
  });
});

describe('pipeline value path', () => {
  test('with a negating generator every output pixel is tensor2im(-normalise(x)), exactly', async () => {
    const dir = path.join(root, 'negate');
    await fs.mkdir(dir);
    await fs.copyFile(path.join(horses, horseNames[2]), path.join(dir, 'h.jpg'));
    const model: ModelSummary = { path: 'negate', format: 'tfjs', architecture: 'negate', role: 'generator', ngf: 0, norm: 'none', inputNc: 3, outputNc: 3, parameters: 0, sizeMultiple: 4 };
    const before = tf.memory().numTensors;
    const r = await runTranslation({ apply: (x) => tf.neg(x) }, model, { inputs: [dir], direction: 'AtoB', eval: true, keepSize: false }, quiet);
    assert.equal(tf.memory().numTensors, before);
    const input = await decodeRgb(path.join(dir, 'h.jpg'));
    const out = await pngPixels(r.translated[0].output);
    const normalise = (v: number) => f(f(f(v / 255) - 0.5) / 0.5);
    const expected = Array.from(input.data, (v) => tensor2im(-normalise(v)));
    assert.deepEqual([...out.data], expected);
  });

  test('a 1-channel generator gets PIL-gray input and its output is tiled to RGB; 2 channels is a clear error', async () => {
    const dir = path.join(root, 'gray-model');
    await fs.mkdir(dir);
    await fs.copyFile(path.join(horses, horseNames[2]), path.join(dir, 'h.jpg'));
    const model: ModelSummary = { path: 'gray', format: 'tfjs', architecture: 'identity', role: 'generator', ngf: 0, norm: 'none', inputNc: 1, outputNc: 1, parameters: 0, sizeMultiple: 4 };
    const shapes: number[][] = [];
    const r = await runTranslation({ apply: (x) => (shapes.push(x.shape), x.clone()) }, model, { inputs: [dir], direction: 'AtoB', eval: true, keepSize: false }, quiet);
    assert.deepEqual(shapes, [[1, 256, 256, 1]]);
    const rgb = await decodeRgb(path.join(dir, 'h.jpg'));
    const out = await pngPixels(r.translated[0].output);
    assert.equal(out.channels, 3);
    for (const i of [0, 1000, 40000, 65535]) {
      const [R, G, B] = rgb.data.subarray(3 * i, 3 * i + 3);
      const gray = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >>> 16;
      const expected = tensor2im(f(f(f(gray / 255) - 0.5) / 0.5));
      assert.deepEqual([...out.data.subarray(3 * i, 3 * i + 3)], [expected, expected, expected], `pixel ${i}`);
    }
    await assert.rejects(runTranslation({ apply: (x) => x.clone() }, { ...model, inputNc: 2 }, { inputs: [dir], direction: 'AtoB', eval: true, keepSize: false }, quiet),
      /takes 2 input channels; images give 3 \(RGB\) or 1 \(grayscale\)/);
  });
});

describe('batches', () => {
  const unetSpec = { netG: 'unet_128', ngf: 8, norm: 'batch', inputNc: 3, outputNc: 3, useDropout: false } as const;
  const unetModel: ModelSummary = { path: 'unet', format: 'tfjs', architecture: 'unet_128', role: 'generator', ngf: 8, norm: 'batch', inputNc: 3, outputNc: 3, parameters: 0, sizeMultiple: 128 };
  /** a0-a2 and c0-c1 at 128x128, b between them at 256x256. */
  async function mixedFolder(name: string): Promise<string> {
    const dir = path.join(root, name);
    await fs.mkdir(dir);
    const sizes: [string, number][] = [['a0', 128], ['a1', 128], ['a2', 128], ['b', 256], ['c0', 128], ['c1', 128]];
    for (const [i, [n, side]] of sizes.entries()) {
      await sharp(path.join(horses, horseNames[i % horseNames.length])).resize(side, side, { fit: 'fill' }).png().toFile(path.join(dir, `${n}.png`));
    }
    return dir;
  }

  test('images of one size share a generator call; with train-mode BatchNorm each output is its image translated alone', async () => {
    const dir = await mixedFolder('batched');
    const g = Generator.init(unetSpec, 3);
    const shapes: number[][] = [];
    const before = tf.memory().numTensors;
    const r = await runTranslation({ apply: (x, mode) => (shapes.push(x.shape), g.apply(x, mode)) }, unetModel, { inputs: [dir], direction: 'AtoB', eval: false, keepSize: false }, quiet);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.deepEqual(shapes, [[3, 128, 128, 3], [1, 256, 256, 3], [2, 128, 128, 3]]);
    assert.deepEqual(r.translated.map((t) => path.basename(t.output)), ['a0.png', 'a1.png', 'a2.png', 'b.png', 'c0.png', 'c1.png']);

    const alone = async (file: string) => {
      const x = pixelsToTensor(await decodeRgb(file));
      const y = g.apply(x, { training: true });
      const values = Array.from(await y.data(), tensor2im);
      tf.dispose([x, y]);
      return values;
    };
    // Batching changes the order of some float sums (up to ~1e-6), which can move a value across a truncation step.
    let mismatches = 0;
    let total = 0;
    for (const t of r.translated) {
      const expected = await alone(t.input);
      const got = (await pngPixels(t.output)).data;
      for (let i = 0; i < expected.length; i++) {
        assert.ok(Math.abs(got[i] - expected[i]) <= 1, `${t.output} value ${i}: ${got[i]} vs ${expected[i]}`);
        if (got[i] !== expected[i]) mismatches++;
      }
      total += expected.length;
    }
    assert.ok(mismatches <= total / 1000, `${mismatches} of ${total} values differ`);

    // Shared batch statistics would give other images: the per-image statistics are what keeps them equal.
    const batch = pixelsToTensor(...(await Promise.all(['a0', 'a1', 'a2'].map((n) => decodeRgb(path.join(dir, `${n}.png`))))));
    const pooled = g.apply(batch, { training: true });
    const first = Array.from((await pooled.data()).subarray(0, 128 * 128 * 3), tensor2im);
    tf.dispose([batch, pooled]);
    const a0 = await alone(path.join(dir, 'a0.png'));
    const differing = first.filter((v, i) => Math.abs(v - a0[i]) > 1).length;
    assert.ok(differing > first.length / 10, `pooled statistics changed only ${differing} values`);
    g.dispose();
  });

  test('a batch the generator cannot take is retried image by image; only the image at fault is skipped', async () => {
    const dir = await mixedFolder('retried');
    const shapes: number[][] = [];
    const model: ModelSummary = { ...unetModel, sizeMultiple: 4 };
    const r = await runTranslation({
      apply: (x) => {
        shapes.push(x.shape);
        if (x.shape[0] > 1) throw new Error('out of memory (simulated)');
        if (x.shape[1] === 256) throw new Error('256 px is refused (simulated)');
        return tf.neg(x);
      },
    }, model, { inputs: [dir], direction: 'AtoB', eval: true, keepSize: false }, quiet);
    assert.deepEqual(shapes, [[3, 128, 128, 3], [1, 128, 128, 3], [1, 128, 128, 3], [1, 128, 128, 3], [1, 256, 256, 3], [2, 128, 128, 3], [1, 128, 128, 3], [1, 128, 128, 3]]);
    assert.deepEqual(r.translated.map((t) => path.basename(t.output)), ['a0.png', 'a1.png', 'a2.png', 'c0.png', 'c1.png']);
    assert.deepEqual(r.unreadable.map((u) => [path.basename(u.input), u.reason]), [['b.png', 'could not be translated at 256x256: 256 px is refused (simulated)']]);
  });
});
