import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detectLayout } from '../../server/data/layout';

const shared = path.resolve(__dirname, '../../../shared/datasets');

test('horse2zebra-mini is unaligned with the official split names and counts', async () => {
  const layout = await detectLayout(path.join(shared, 'horse2zebra-mini'));
  assert.equal(layout.kind, 'unaligned');
  const counts = Object.fromEntries(layout.splits.map((s) => [s.name, s.files.length]));
  assert.deepEqual(counts, { trainA: 400, trainB: 400, testA: 59, testB: 60 });
});

test('facades is aligned with train and val', async () => {
  const layout = await detectLayout(path.join(shared, 'facades'));
  assert.equal(layout.kind, 'aligned');
  assert.deepEqual(layout.splits.map((s) => [s.name, s.files.length]), [['train', 400], ['val', 100]]);
});

test('paired A/ and B/ folders, a single folder, and an empty one', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dt-layout-'));
  const paired = path.join(root, 'paired');
  for (const d of ['A', 'B']) {
    mkdirSync(path.join(paired, d), { recursive: true });
    writeFileSync(path.join(paired, d, 'x.png'), '');
  }
  assert.equal((await detectLayout(paired)).kind, 'paired');
  const single = path.join(root, 'single');
  mkdirSync(single);
  writeFileSync(path.join(single, 'b.jpg'), '');
  writeFileSync(path.join(single, 'a.JPG'), '');
  writeFileSync(path.join(single, 'notes.txt'), '');
  const s = await detectLayout(single);
  assert.equal(s.kind, 'single');
  assert.deepEqual(s.splits[0].files, ['a.JPG', 'b.jpg']);
  const empty = path.join(root, 'empty');
  mkdirSync(empty);
  await assert.rejects(detectLayout(empty), /no images in a known layout/);
  await assert.rejects(detectLayout(path.join(root, 'missing')), /not a folder/);
});
