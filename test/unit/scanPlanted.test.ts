import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanDataset } from '../../server/data/checks/scanDataset';
import { hashTree, makePlantedPaired, makePlantedUnaligned, PLANTED, PLANTED_PAIRED } from './scanFixture';

test('every planted problem in an unaligned dataset is found with its kind, clean images raise nothing, files unchanged', async () => {
  const root = await makePlantedUnaligned();
  const before = await hashTree(root);
  const progress: number[] = [];
  const result = await scanDataset(root, { onProgress: (done) => progress.push(done) });
  assert.equal(result.layout, 'unaligned');
  assert.deepEqual(result.splits, { trainA: 33, trainB: 20, testA: 7, testB: 6 });
  for (const [kind, files] of Object.entries(PLANTED)) {
    for (const file of files) {
      assert.ok(result.issues.some((i) => i.file === file && i.kind === kind),
        `${file} should be reported as ${kind}; got ${JSON.stringify(result.issues.filter((i) => i.file === file))}`);
    }
  }
  const planted = new Set<string>(Object.values(PLANTED).flat());
  const cleanFlagged = result.issues.filter((i) => !planted.has(i.file));
  // The originals of planted copies may carry no issue: copies are reported on the copy.
  assert.deepEqual(cleanFlagged, [], 'clean images must raise no issue');
  const corrupt = result.issues.find((i) => i.file === 'trainA/truncated.jpg' && i.kind === 'corrupt');
  assert.match(corrupt!.detail.message, /premature end|truncated/i);
  assert.equal(result.issues.find((i) => i.kind === 'exact_duplicate')!.detail.other, 'trainA/a03.png');
  assert.equal(result.issues.find((i) => i.kind === 'split_leak')!.detail.other, 'trainA/a05.png');
  assert.equal(progress.at(-1), 66);
  assert.deepEqual(await hashTree(root), before);
});

test('paired A/ B/ folders: the missing partner and the size mismatch are found', async () => {
  const root = await makePlantedPaired();
  const before = await hashTree(root);
  const result = await scanDataset(root);
  assert.equal(result.layout, 'paired');
  for (const [kind, files] of Object.entries(PLANTED_PAIRED)) {
    for (const file of files) assert.ok(result.issues.some((i) => i.file === file && i.kind === kind), `${file} should be ${kind}`);
  }
  assert.equal(result.issues.filter((i) => i.kind === 'missing_pair' || i.kind === 'pair_size_mismatch').length, 2);
  assert.equal(result.issues.find((i) => i.kind === 'pair_size_mismatch')!.detail.other, 'B/p03.jpg');
  assert.deepEqual(await hashTree(root), before);
});

test('a cancelled scan stops early and says so', async () => {
  const root = await makePlantedUnaligned();
  let seen = 0;
  const result = await scanDataset(root, { concurrency: 1, onProgress: (d) => { seen = d; }, isCancelled: () => seen >= 5 });
  assert.equal(result.cancelled, true);
  assert.ok(seen < 66);
});

test('threshold overrides apply and unknown names are refused', async () => {
  const root = await makePlantedUnaligned();
  const result = await scanDataset(root, { thresholds: { dark: 0 } });
  assert.ok(!result.issues.some((i) => i.kind === 'dark'));
  await assert.rejects(scanDataset(root, { thresholds: { darkness: 1 } as never }), /unknown threshold "darkness"/);
});
