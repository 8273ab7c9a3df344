import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { scanDataset } from '../../server/data/checks/scanDataset';
import { domainStatistics } from '../../server/data/stats';
import { thumbnail } from '../../server/data/thumbnails';
import { hashTree, makePlantedUnaligned, texture } from './scanFixture';

test('thumbnails are cached by path, size and mtime; the source is untouched', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-thumb-'));
  const cache = path.join(dir, 'cache');
  const src = path.join(dir, 'src');
  await fs.mkdir(src);
  const file = path.join(src, 'wide.png');
  await (await texture(3, 'red')).resize(400, 200, { fit: 'fill' }).png().toFile(file);
  const before = await hashTree(src);
  const t1 = await thumbnail(file, 128, cache);
  assert.ok(t1.startsWith(cache));
  const meta = await sharp(t1).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 128, 64]);
  const made = (await fs.stat(t1)).mtimeMs;
  assert.equal(await thumbnail(file, 128, cache), t1, 'same key → same file');
  assert.equal((await fs.stat(t1)).mtimeMs, made, 'not remade');
  assert.notEqual(await thumbnail(file, 64, cache), t1, 'another size → another file');
  const [a, b] = await Promise.all([thumbnail(file, 32, cache), thumbnail(file, 32, cache)]);
  assert.equal(a, b);
  assert.deepEqual(await hashTree(src), before);
  // A changed image (new mtime) gets a new thumbnail.
  await fs.utimes(file, new Date(), new Date(Date.now() + 5000));
  assert.notEqual(await thumbnail(file, 128, cache), t1);
  await fs.writeFile(path.join(src, 'bad.jpg'), 'text');
  await assert.rejects(thumbnail(path.join(src, 'bad.jpg'), 128, cache), /unsupported image format/);
});

test('domain statistics: colour histograms show the domains differ; sizes and brightness counted', async () => {
  const root = await makePlantedUnaligned();
  const stats = domainStatistics(await scanDataset(root));
  assert.deepEqual(stats.map((s) => s.domain), ['A', 'B']);
  const [a, b] = stats;
  assert.equal(a.images, 33 - 3 + 7); // trainA without truncated.jpg, text.jpg and drawing.png (SVG inside), plus testA
  assert.equal(b.images, 26);
  const sum = (v: number[]) => v.reduce((x, y) => x + y, 0);
  for (const s of stats) for (const c of [s.histogram.r, s.histogram.g, s.histogram.b]) assert.ok(Math.abs(sum(c) - 1) < 1e-9);
  const upper = (v: number[]) => sum(v.slice(8));
  assert.ok(upper(a.histogram.r) > upper(a.histogram.b), 'A is red');
  assert.ok(upper(b.histogram.b) > upper(b.histogram.r), 'B is blue');
  assert.deepEqual(b.sizes, [{ width: 256, height: 256, count: 26 }]);
  assert.deepEqual(a.sizes[0], { width: 256, height: 256, count: 35 }); // all of A but tiny.png and wide.png
  assert.equal(sum(a.brightness), a.images);
});
