// False-alarm bounds of the scan's defaults on clean, real datasets (read-only).
// Measured with the defaults in server/data/checks/thresholds.ts:
//   horse2zebra-mini (919 images): grayscale 32 (all really gray: the README's
//     gray zebras plus 3 gray horse photos), near_duplicate 1 (trainA
//     n02381460_5355 is a real near copy of _4385), domain_outlier 11 (1.2%,
//     ordinary photos: white backgrounds, blue skies) — the only false alarms;
//   apple2orange-mini (480): grayscale 1 (a gray photo of an orange),
//     domain_outlier 1 (0.2%); facades (500): nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { scanDataset } from '../../server/data/checks/scanDataset';
import type { IssueKind } from '../../server/data/checks/thresholds';
import { hashTree } from './scanFixture';

const shared = path.resolve(__dirname, '../../../shared/datasets');

function countByKind(issues: { kind: IssueKind }[]): Partial<Record<IssueKind, number>> {
  const out: Partial<Record<IssueKind, number>> = {};
  for (const i of issues) out[i.kind] = (out[i.kind] ?? 0) + 1;
  return out;
}

/** Kinds that must never fire on these clean, uniform datasets. */
const NEVER: IssueKind[] = ['corrupt', 'unsupported', 'exact_duplicate', 'dark', 'light', 'blurry', 'low_information',
  'odd_size', 'odd_aspect_ratio', 'split_leak', 'missing_pair', 'pair_size_mismatch'];

for (const [name, images, maxGray, maxNear] of [['horse2zebra-mini', 919, 32, 1], ['apple2orange-mini', 480, 1, 0]] as const) {
  test(`${name}: few false alarms, files unchanged`, async () => {
    const root = path.join(shared, name);
    const before = await hashTree(root);
    const result = await scanDataset(root);
    assert.equal(result.images.length, images);
    const counts = countByKind(result.issues);
    for (const kind of NEVER) assert.equal(counts[kind] ?? 0, 0, `${kind} on a clean dataset: ${JSON.stringify(result.issues.filter((i) => i.kind === kind).slice(0, 3))}`);
    assert.ok((counts.grayscale ?? 0) <= maxGray, `grayscale ${counts.grayscale}`);
    assert.ok((counts.near_duplicate ?? 0) <= maxNear, `near_duplicate ${counts.near_duplicate}`);
    // Documented bound: domain outliers on clean photos stay under 1.5% of images.
    assert.ok((counts.domain_outlier ?? 0) <= 0.015 * images, `domain_outlier ${counts.domain_outlier} of ${images}`);
    assert.deepEqual(await hashTree(root), before);
  });
}

test('facades (aligned A|B files): no issue at all', async () => {
  const result = await scanDataset(path.join(shared, 'facades'));
  assert.equal(result.layout, 'aligned');
  assert.deepEqual(result.issues, []);
});
