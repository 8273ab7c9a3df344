import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { combineAB, createTestSplit, moveFiles, undoMove } from '../../server/data/curation';
import { detectLayout } from '../../server/data/layout';
import { exclude, excludedFiles, include, MANIFEST_NAME, readManifest, validateManifest, writeManifest } from '../../server/data/manifest';
import { hashTree, makePlantedPaired, texture } from './scanFixture';

async function smallUnaligned(): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-manifest-'));
  for (const split of ['trainA', 'trainB']) {
    await fs.mkdir(path.join(root, split));
    for (let i = 0; i < 10; i++) await (await texture(i + (split === 'trainB' ? 50 : 0), split === 'trainA' ? 'red' : 'blue', 32)).png().toFile(path.join(root, split, `${i}.png`));
  }
  return root;
}

const imagesOnly = (m: Map<string, string>) => new Map([...m].filter(([f]) => !f.endsWith(MANIFEST_NAME)));

test('exclude and include write a stable, diff-friendly manifest; excludedFiles reads it; images untouched', async () => {
  const root = await smallUnaligned();
  const before = await hashTree(root);
  assert.deepEqual(await excludedFiles(root), new Set());
  const when = new Date('2026-01-02T03:04:05.000Z');
  await exclude(root, ['trainB/3.png', 'trainA/7.png'], 'dark', when);
  await exclude(root, ['trainA/7.png'], 'again', when); // no duplicate entry
  const text = await fs.readFile(path.join(root, MANIFEST_NAME), 'utf8');
  assert.equal(text, `{
  "version": 1,
  "excluded": [
    {
      "file": "trainA/7.png",
      "reason": "dark",
      "date": "2026-01-02T03:04:05.000Z"
    },
    {
      "file": "trainB/3.png",
      "reason": "dark",
      "date": "2026-01-02T03:04:05.000Z"
    }
  ],
  "moves": [],
  "thresholds": {}
}
`);
  assert.deepEqual(await excludedFiles(root), new Set(['trainA/7.png', 'trainB/3.png']));
  await include(root, ['trainA/7.png']);
  assert.deepEqual(await excludedFiles(root), new Set(['trainB/3.png']));
  // Concurrent updates are serialised: none is lost.
  await Promise.all(['0', '1', '2', '4'].map((n) => exclude(root, [`trainA/${n}.png`], 'blurry')));
  assert.equal((await excludedFiles(root)).size, 5);
  assert.deepEqual((await fs.readdir(root)).filter((f) => f.endsWith('.tmp')), [], 'no temp file left behind');
  assert.deepEqual(imagesOnly(await hashTree(root)), before);
});

test('a bad manifest is refused with the field named; paths outside the folder are refused', async () => {
  assert.throws(() => validateManifest({ version: 1, excluded: [{ file: '../etc/passwd', reason: 'x', date: 'd' }] }), /excluded\[0\]\.file must be a path inside/);
  assert.throws(() => validateManifest({ version: 1, excluded: [{ file: '/abs.png', reason: 'x', date: 'd' }] }), /inside the dataset/);
  assert.throws(() => validateManifest({ version: 2 }), /version must be 1/);
  assert.throws(() => validateManifest({ version: 1, thresholds: { dark: 'low' } }), /"dark" must be a finite number/);
  assert.throws(() => validateManifest({ version: 1, moves: [{ from: 'a.png', to: 5, date: 'd' }] }), /moves\[0\]\.to must be a non-empty path/);
  const root = await smallUnaligned();
  await fs.writeFile(path.join(root, MANIFEST_NAME), '{ not json');
  await assert.rejects(readManifest(root), new RegExp(`${MANIFEST_NAME}: .*JSON`));
  await assert.rejects(exclude(root, ['trainA/../../x.png'], 'r'), /inside the dataset/);
  await writeManifest(root, { version: 1, excluded: [], moves: [], thresholds: { dark: 0.2 } });
  assert.equal((await readManifest(root)).thresholds.dark, 0.2);
});

test('moving to another split is a real rename, recorded, undoable, and never overwrites', async () => {
  const root = await smallUnaligned();
  const before = await hashTree(root);
  await exclude(root, ['trainA/2.png'], 'odd');
  const moved = await moveFiles(root, ['trainA/2.png', 'trainA/5.png'], 'testA', new Date('2026-01-01T00:00:00Z'));
  assert.deepEqual(moved.map((m) => [m.from, m.to]), [['trainA/2.png', 'testA/2.png'], ['trainA/5.png', 'testA/5.png']]);
  const after = imagesOnly(await hashTree(root));
  assert.equal(after.get('testA/2.png'), before.get('trainA/2.png'), 'moved files keep their bytes');
  assert.equal(after.has('trainA/2.png'), false);
  const m = await readManifest(root);
  assert.deepEqual(m.moves.map((r) => r.to), ['testA/2.png', 'testA/5.png']);
  assert.deepEqual(m.excluded.map((e) => e.file), ['testA/2.png'], 'the exclusion follows the file');
  // trainB/2.png → trainA/2.png is free again, but testA/5.png exists: refuse the whole batch, move nothing.
  await fs.copyFile(path.join(root, 'trainB/5.png'), path.join(root, 'trainB/5copy.png'));
  await assert.rejects(moveFiles(root, ['trainB/1.png', 'trainB/5.png'], 'testA'), /testA\/5\.png already exists; nothing was moved/);
  assert.ok(await fs.stat(path.join(root, 'trainB/1.png')));
  await assert.rejects(moveFiles(root, ['trainA/0.png'], 'elsewhere'), /not a split folder name/);
  await assert.rejects(moveFiles(root, ['trainA/nope.png'], 'testA'), /does not exist/);
  await fs.rm(path.join(root, 'trainB/5copy.png'));
  await undoMove(root);
  await undoMove(root);
  await assert.rejects(undoMove(root), /no recorded move to undo/);
  assert.deepEqual(imagesOnly(await hashTree(root)), before);
  assert.deepEqual(await excludedFiles(root), new Set(['trainA/2.png']));
});

test('undo refuses to overwrite a file that took the old name', async () => {
  const root = await smallUnaligned();
  await moveFiles(root, ['trainA/1.png'], 'testA');
  await fs.copyFile(path.join(root, 'trainA/0.png'), path.join(root, 'trainA/1.png'));
  await assert.rejects(undoMove(root), /trainA\/1\.png already exists/);
  assert.equal((await readManifest(root)).moves.length, 1, 'the record stays so the undo can be retried');
});

test('create a test split moves a seeded fraction of each training split, recorded', async () => {
  const root = await smallUnaligned();
  const before = await hashTree(root);
  const moved = await createTestSplit(root, 0.3, 7);
  assert.equal(moved.length, 6);
  const layout = await detectLayout(root);
  assert.deepEqual(Object.fromEntries(layout.splits.map((s) => [s.name, s.files.length])), { trainA: 7, trainB: 7, testA: 3, testB: 3 });
  const after = imagesOnly(await hashTree(root));
  for (const r of moved) assert.equal(after.get(r.to), before.get(r.from));
  await assert.rejects(createTestSplit(root, 1.5), /between 0 and 1/);
});

test('combine A/ and B/ into an aligned A|B folder; never overwrites; pairs that cannot combine are listed', async () => {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-combine-'));
  const root = await makePlantedPaired(parent);
  const before = await hashTree(root);
  const result = await combineAB(root);
  assert.equal(result.outDir, `${root}_AB`);
  assert.equal(result.written.length, 11);
  assert.deepEqual(result.skipped.map((s) => s.stem).sort(), ['p03', 'p12']);
  const meta = await sharp(path.join(result.outDir, 'train/p00.png')).metadata();
  assert.deepEqual([meta.width, meta.height], [512, 256]);
  // The left half is A's pixels exactly (PNG source, lossless output).
  const left = await sharp(path.join(result.outDir, 'train/p00.png')).extract({ left: 0, top: 0, width: 256, height: 256 }).raw().toBuffer();
  assert.ok(left.equals(await sharp(path.join(root, 'A/p00.png')).removeAlpha().raw().toBuffer()));
  assert.equal((await detectLayout(result.outDir)).kind, 'aligned');
  await assert.rejects(combineAB(root), /already exists/);
  assert.deepEqual(await hashTree(root), before);
});
