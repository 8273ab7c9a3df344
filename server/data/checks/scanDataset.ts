// The dataset scan: lists the layout's files, decodes each image once in a
// small pool (bounded memory: only per-image numbers are kept), then runs the
// checks that compare images with each other. Never writes anything.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detectLayout, hasImageExtension, type DatasetLayout } from '../layout';
import { outlierIssues, duplicateIssues, grayscaleIssues, sizeIssues } from './datasetChecks';
import { singleImageIssues } from './imageChecks';
import { decodeFeatures } from './imageFeatures';
import { matchPairs } from './pairs';
import { ISSUE_KINDS, resolveThresholds } from './thresholds';
import type { Domain, ScanIssue, ScanOptions, ScanResult, ScannedImage } from './types';

const MANIFEST_NAME = 'domain-translator.dataset.json';

export function relativeFile(root: string, dir: string, name: string): string {
  return path.relative(root, path.join(dir, name)).split(path.sep).join('/');
}

export function domainOf(layoutKind: DatasetLayout['kind'], split: string): Domain {
  if (layoutKind === 'unaligned' || layoutKind === 'paired') return split.endsWith('B') ? 'B' : 'A';
  return 'AB';
}

/** Files in a split folder that training will not read (not an image extension), skipping dotfiles and our manifest. */
async function otherFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => !e.isDirectory() && !e.name.startsWith('.') && e.name !== MANIFEST_NAME && !hasImageExtension(e.name))
    .map((e) => e.name)
    .sort();
}

/** Runs `work` over items with at most `limit` in flight, in order of start. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>, isCancelled: () => boolean): Promise<void> {
  let next = 0;
  const runner = async () => {
    while (next < items.length && !isCancelled()) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
}

function pairIssues(root: string, layout: DatasetLayout, images: Map<string, ScannedImage>): ScanIssue[] {
  if (layout.kind !== 'paired') return [];
  const a = layout.splits.find((s) => s.name === 'A')!;
  const b = layout.splits.find((s) => s.name === 'B')!;
  const match = matchPairs(a.files, b.files);
  const issues: ScanIssue[] = [];
  for (const name of match.onlyA) issues.push({ file: relativeFile(root, a.dir, name), kind: 'missing_pair', detail: { message: 'no file with this stem in B/' } });
  for (const name of match.onlyB) issues.push({ file: relativeFile(root, b.dir, name), kind: 'missing_pair', detail: { message: 'no file with this stem in A/' } });
  for (const p of match.pairs) {
    const fa = images.get(relativeFile(root, a.dir, p.a))?.features;
    const fileB = relativeFile(root, b.dir, p.b);
    const fb = images.get(fileB)?.features;
    if (fa && fb && (fa.width !== fb.width || fa.height !== fb.height)) {
      issues.push({ file: relativeFile(root, a.dir, p.a), kind: 'pair_size_mismatch', detail: {
        message: `A is ${fa.width}x${fa.height}, B is ${fb.width}x${fb.height}`, other: fileB } });
    }
  }
  return issues;
}

export async function scanDataset(root: string, options: ScanOptions = {}): Promise<ScanResult> {
  const thresholds = resolveThresholds(options.thresholds);
  const isCancelled = options.isCancelled ?? (() => false);
  const layout = await detectLayout(root);
  const issues: ScanIssue[] = [];
  const images: ScannedImage[] = [];
  for (const split of layout.splits) {
    for (const name of split.files) images.push({ file: relativeFile(root, split.dir, name), split: split.name, domain: domainOf(layout.kind, split.name) });
    for (const name of await otherFiles(split.dir)) {
      issues.push({ file: relativeFile(root, split.dir, name), kind: 'unsupported', detail: {
        message: `${path.extname(name) || 'no extension'}: not an image type training reads` } });
    }
  }
  const total = images.length;
  let done = 0;
  const concurrency = options.concurrency ?? Math.min(3, Math.max(2, os.availableParallelism()));
  await pool(images, concurrency, async (img) => {
    const outcome = await decodeFeatures(path.join(root, img.file));
    if (outcome.ok) {
      img.features = outcome.features;
      for (const issue of singleImageIssues(outcome.features, thresholds)) issues.push({ file: img.file, ...issue });
    } else {
      issues.push({ file: img.file, kind: outcome.kind, detail: { message: outcome.reason } });
    }
    options.onProgress?.(++done, total);
  }, isCancelled);
  const decoded = images.filter((i): i is ScannedImage & { features: NonNullable<ScannedImage['features']> } => i.features !== undefined);
  if (!isCancelled()) issues.push(...await duplicateIssues(decoded, thresholds, isCancelled));
  if (!isCancelled()) {
    issues.push(...grayscaleIssues(decoded, thresholds), ...sizeIssues(decoded, thresholds), ...outlierIssues(decoded, thresholds),
      ...pairIssues(root, layout, new Map(images.map((i) => [i.file, i]))));
  }
  const order = new Map(ISSUE_KINDS.map((k, i) => [k, i]));
  issues.sort((x, y) => (x.file < y.file ? -1 : x.file > y.file ? 1 : order.get(x.kind)! - order.get(y.kind)!));
  return {
    layout: layout.kind,
    splits: Object.fromEntries(layout.splits.map((s) => [s.name, s.files.length])),
    issues, images, thresholds, cancelled: isCancelled(),
  };
}
