import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { initBackend } from '../../server/backend';
import { decodeRgb, pixelsToTensor, resizePixels, roundToMultiple, sniffFormat, tensorToPixels, toGray, writePng } from '../../server/data/imageIO';
import { buildCorpus, type Expect } from './support/badImageCorpus';

const repo = path.resolve(__dirname, '../..');
const horse = path.resolve(repo, '../shared/datasets/horse2zebra-mini/testA/n02381460_1000.jpg');

let dir: string;
let corpus: Map<string, Expect>;
before(async () => {
  await initBackend();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imageio-'));
  corpus = await buildCorpus(dir);
});
after(() => fs.rm(dir, { recursive: true, force: true }));

describe('decodeRgb', () => {
  test('every corpus file decodes to 3-channel pixels or fails with its reason', async () => {
    for (const [name, e] of corpus) {
      if (e.kind === 'nonImage') continue;
      const result = await decodeRgb(path.join(dir, name)).then((p) => p, (err: Error) => err);
      if (e.kind === 'image') {
        assert.ok(!(result instanceof Error), `${name}: ${(result as Error).message}`);
        assert.deepEqual([result.width, result.height, result.channels, result.data.length], [e.width, e.height, 3, e.width * e.height * 3], name);
      } else {
        assert.ok(result instanceof Error && result.name === 'UnreadableImageError', `${name} should be unreadable`);
        assert.match(result.message, e.reason, name);
      }
    }
  });

  test('a real JPEG decodes to the expected size with real content', async () => {
    const p = await decodeRgb(horse);
    assert.deepEqual([p.width, p.height, p.channels], [256, 256, 3]);
    const mean = p.data.reduce((s, v) => s + v, 0) / p.data.length;
    assert.ok(mean > 20 && mean < 235, `mean ${mean}`);
  });

  test('alpha is dropped (not flattened), as PIL convert("RGB") does', async () => {
    const file = path.join(dir, 'half-transparent.png');
    await sharp({ create: { width: 2, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0 } } }).png().toFile(file);
    assert.deepEqual([...(await decodeRgb(file)).data.subarray(0, 3)], [10, 20, 30]);
  });

  test('a file this user may not read is reported as permission denied', () => {
    // As root every file is readable, so the check runs in a child as "nobody".
    const locked = path.join(dir, 'locked.png');
    const script = `require('${path.join(repo, 'server/data/imageIO.ts')}').decodeRgb(${JSON.stringify(locked)})` +
      `.then(() => console.log('decoded'), (e) => console.log(e.message))`;
    return fs.copyFile(horse, locked).then(() => fs.chmod(locked, 0o000)).then(() => {
      const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repo, encoding: 'utf8', ...asNobody });
      assert.equal(r.stdout.trim(), 'permission denied', r.stderr);
    });
  });
});

describe('sniffFormat', () => {
  test('recognises signatures and rejects text', () => {
    const b = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
    assert.equal(sniffFormat(b('\xff\xd8\xff\xe0rest')), 'jpeg');
    assert.equal(sniffFormat(b('\x89PNG\r\n\x1a\n....')), 'png');
    assert.equal(sniffFormat(b('GIF89a')), 'gif');
    assert.equal(sniffFormat(b('RIFF\0\0\0\0WEBPVP8 ')), 'webp');
    assert.equal(sniffFormat(b('II*\0')), 'tiff');
    assert.equal(sniffFormat(b('\0\0\0\x1cftypavif')), 'avif');
    assert.equal(sniffFormat(b('\0\0\0\x18ftypheic')), 'heic');
    assert.equal(sniffFormat(b('hello world')), undefined);
    assert.equal(sniffFormat(new Uint8Array(0)), undefined);
  });
});

describe('official preprocessing', () => {
  test('sides round like __make_power_2 (Python round: half to even), never below one multiple', () => {
    assert.equal(roundToMultiple(256, 4), 256);
    assert.equal(roundToMultiple(250, 4), 248); // 62.5 -> 62
    assert.equal(roundToMultiple(190, 4), 192); // 47.5 -> 48
    assert.equal(roundToMultiple(257, 4), 256);
    assert.equal(roundToMultiple(259, 4), 260);
    assert.equal(roundToMultiple(1, 4), 4);
    assert.equal(roundToMultiple(300, 256), 256);
    assert.equal(roundToMultiple(384, 256), 512); // 1.5 -> 2
    assert.equal(roundToMultiple(640, 256), 512); // 2.5 -> 2
  });

  test('pixels normalise to (x/255 - 0.5)/0.5 in float32', async () => {
    const t = pixelsToTensor({ data: Uint8Array.from([0, 255, 128, 1, 254, 77]), width: 2, height: 1, channels: 3 });
    try {
      assert.deepEqual(t.shape, [1, 1, 2, 3]);
      const f = Math.fround;
      const expected = [0, 255, 128, 1, 254, 77].map((x) => f(f(f(x / 255) - 0.5) / 0.5));
      assert.deepEqual([...(await t.data())], expected);
      assert.equal(expected[0], -1);
      assert.equal(expected[1], 1);
    } finally {
      t.dispose();
    }
  });

  test('outputs convert like tensor2im: (x+1)/2*255 truncated, one channel tiled to three', async () => {
    const before = tf.memory().numTensors;
    const rgb = tf.tensor4d([-1, 1, 0, 0.999, -0.999, 0.5], [1, 1, 2, 3]);
    const gray = tf.tensor4d([-1, 0.2], [1, 1, 2, 1]);
    const [a] = await tensorToPixels(rgb);
    const [b] = await tensorToPixels(gray);
    rgb.dispose();
    gray.dispose();
    const f = Math.fround;
    const official = (x: number) => Math.trunc(f(f(f(f(x) + 1) / 2) * 255));
    assert.deepEqual([...a.data], [-1, 1, 0, 0.999, -0.999, 0.5].map(official));
    assert.deepEqual([...a.data].slice(0, 3), [0, 255, 127]);
    assert.deepEqual([...b.data], [0, 0, 0, 153, 153, 153]);
    assert.equal(tf.memory().numTensors, before);
  });

  test('a batch goes in and comes out image by image, in order; mixed sizes are refused', async () => {
    const img = (v: number) => ({ data: Uint8Array.from([v, v, v, 255 - v, 255 - v, 255 - v]), width: 2, height: 1, channels: 3 as const });
    const t = pixelsToTensor(img(0), img(255), img(128));
    try {
      assert.deepEqual(t.shape, [3, 1, 2, 3]);
      const out = await tensorToPixels(t);
      assert.deepEqual(out.map((p) => [...p.data]), [[0, 0, 0, 255, 255, 255], [255, 255, 255, 0, 0, 0], [128, 128, 128, 127, 127, 127]]);
      assert.ok(out.every((p) => p.width === 2 && p.height === 1));
    } finally {
      t.dispose();
    }
    assert.throws(() => pixelsToTensor(img(0), { ...img(0), width: 1, data: Uint8Array.from([0, 0, 0]) }), /one batch needs images of one size: 1x1x3 and 2x1x3/);
  });

  test('grayscale uses PIL convert("L") weights', () => {
    const g = toGray({ data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50]), width: 4, height: 1, channels: 3 });
    // PIL: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
    assert.deepEqual([...g.data], [76, 150, 29, 124]);
  });

  test('bicubic resize changes only the size', async () => {
    const p = await decodeRgb(horse);
    const r = await resizePixels(p, 248, 192);
    assert.deepEqual([r.width, r.height, r.data.length], [248, 192, 248 * 192 * 3]);
  });
});

describe('writePng', () => {
  test('writes a PNG with the exact pixels and refuses to overwrite', async () => {
    const img = { data: Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256), width: 4, height: 3, channels: 3 as const };
    const file = path.join(dir, 'out.png');
    await writePng(img, file);
    const back = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([back.info.width, back.info.height, back.info.channels], [4, 3, 3]);
    assert.deepEqual([...back.data], [...img.data]);
    const before = await fs.readFile(file);
    await assert.rejects(writePng({ ...img, data: new Uint8Array(36) }, file), /already exists/);
    assert.deepEqual(await fs.readFile(file), before);
    assert.deepEqual((await fs.readdir(dir)).filter((n) => n.endsWith('.partial')), []);
  });

  test('resizes to the requested size (keep-size)', async () => {
    const p = await decodeRgb(horse);
    const file = path.join(dir, 'kept.png');
    await writePng(p, file, { width: 250, height: 190 });
    const m = await sharp(file).metadata();
    assert.deepEqual([m.width, m.height, m.format], [250, 190, 'png']);
  });
});
