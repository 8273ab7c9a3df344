// Checks that compare images with each other: duplicates, leaks between
// splits or domains, and per-domain statistics (grayscale, size, outliers).
import { hammingDistance } from './phash';
import { mad, median } from './robust';
import type { Thresholds } from './thresholds';
import type { Domain, ScanIssue, ScannedImage } from './types';

type Decoded = ScannedImage & { features: NonNullable<ScannedImage['features']> };

/** 'train' or 'test' (val and test hold images the model must not have seen); paired A/ B/ have no role. */
function roleOf(split: string): string {
  if (/^train/.test(split)) return 'train';
  if (/^(test|val)/.test(split)) return 'test';
  return split === 'A' || split === 'B' ? 'all' : split;
}

/** The image a leak is reported on: the held-out one, else the later one. */
function leakTarget(a: Decoded, b: Decoded): [Decoded, Decoded] {
  if (roleOf(a.split) === 'test' && roleOf(b.split) !== 'test') return [a, b];
  return [b, a];
}

function isLeak(a: Decoded, b: Decoded): boolean {
  return a.domain !== b.domain || roleOf(a.split) !== roleOf(b.split);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Exact duplicates by pixel hash and near duplicates by pHash distance; leaks when the two sit across splits or domains. */
export async function duplicateIssues(images: Decoded[], t: Thresholds, isCancelled: () => boolean): Promise<ScanIssue[]> {
  const issues: ScanIssue[] = [];
  const firstByHash = new Map<string, Decoded>();
  for (const img of images) {
    const first = firstByHash.get(img.features.pixelHash);
    if (!first) { firstByHash.set(img.features.pixelHash, img); continue; }
    issues.push({ file: img.file, kind: 'exact_duplicate', detail: { message: `same pixels as ${first.file}`, other: first.file } });
    if (isLeak(first, img)) {
      const [target, other] = leakTarget(first, img);
      issues.push({ file: target.file, kind: 'split_leak', detail: { message: `identical to ${other.file}`, other: other.file, value: 0 } });
    }
  }
  const n = images.length;
  const hi = Uint32Array.from(images, (i) => i.features.phashHi);
  const lo = Uint32Array.from(images, (i) => i.features.phashLo);
  // The closest near copy of each image, so each file gets one issue per kind.
  const nearest = new Map<string, { kind: 'near_duplicate' | 'split_leak'; other: string; distance: number }>();
  const note = (target: Decoded, other: Decoded, kind: 'near_duplicate' | 'split_leak', distance: number) => {
    const key = `${target.file}\u0000${kind}`;
    const prev = nearest.get(key);
    if (!prev || distance < prev.distance) nearest.set(key, { kind, other: other.file, distance });
  };
  for (let i = 0; i < n; i++) {
    if (i % 256 === 0) {
      if (isCancelled()) break;
      await yieldToEventLoop();
    }
    for (let j = i + 1; j < n; j++) {
      const d = hammingDistance(hi[i], lo[i], hi[j], lo[j]);
      if (d > t.nearDuplicateBits) continue;
      const a = images[i];
      const b = images[j];
      if (a.features.pixelHash === b.features.pixelHash) continue;
      if (isLeak(a, b)) {
        const [target, other] = leakTarget(a, b);
        note(target, other, 'split_leak', d);
      } else {
        note(b, a, 'near_duplicate', d);
      }
    }
  }
  for (const [key, v] of nearest) {
    issues.push({ file: key.split('\u0000')[0], kind: v.kind, detail: {
      message: `${v.distance} of 64 perceptual-hash bits differ from ${v.other}`, other: v.other, value: v.distance, threshold: t.nearDuplicateBits } });
  }
  return issues;
}

function byDomain(images: Decoded[]): Map<Domain, Decoded[]> {
  const out = new Map<Domain, Decoded[]>();
  for (const img of images) {
    const list = out.get(img.domain) ?? [];
    list.push(img);
    out.set(img.domain, list);
  }
  return out;
}

/** Gray images in a domain that is mostly colour. */
export function grayscaleIssues(images: Decoded[], t: Thresholds): ScanIssue[] {
  const issues: ScanIssue[] = [];
  for (const [domain, list] of byDomain(images)) {
    const gray = list.filter((i) => i.features.colourDeviation <= t.grayscaleTolerance);
    if (gray.length >= t.colourDomainMinFraction * list.length) continue;
    for (const img of gray) {
      issues.push({ file: img.file, kind: 'grayscale', detail: {
        message: `gray image in colour domain ${domain}`, value: Math.round(img.features.colourDeviation * 100) / 100, threshold: t.grayscaleTolerance } });
    }
  }
  return issues;
}

/** Far from the domain's typical size (cleanvision's sqrt-area ratio to the median), or too small to train on. */
export function sizeIssues(images: Decoded[], t: Thresholds): ScanIssue[] {
  const issues: ScanIssue[] = [];
  for (const list of byDomain(images).values()) {
    const typical = median(list.map((i) => Math.sqrt(i.features.width * i.features.height)));
    for (const img of list) {
      const { width, height } = img.features;
      const side = Math.sqrt(width * height);
      const ratio = Math.max(side / typical, typical / side);
      if (ratio > t.oddSizeRatio || Math.min(width, height) < t.minSide) {
        issues.push({ file: img.file, kind: 'odd_size', detail: {
          message: `${width}x${height}; typical side ${Math.round(typical)} px`, value: Math.round(ratio * 100) / 100, threshold: t.oddSizeRatio } });
      }
    }
  }
  return issues;
}

function distance(a: number[], b: number[]): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return Math.sqrt(s);
}

/**
 * Images that look like the other domain (closer to its centroid than to their
 * own, by a margin) or like nothing in their own domain (robust z-score of the
 * distance to their own centroid). Features are colour statistics, each
 * standardised by its median and MAD over the whole dataset.
 */
export function outlierIssues(images: Decoded[], t: Thresholds): ScanIssue[] {
  const MIN_DOMAIN = 10;
  if (images.length === 0) return [];
  const dims = images[0].features.feature.length;
  const centre: number[] = [];
  const spread: number[] = [];
  for (let k = 0; k < dims; k++) {
    const col = images.map((i) => i.features.feature[k]);
    centre.push(median(col));
    spread.push(Math.max(mad(col, centre[k]), 1e-3));
  }
  const z = new Map(images.map((i) => [i, i.features.feature.map((v, k) => (v - centre[k]) / spread[k])]));
  const domains = [...byDomain(images)].filter(([, list]) => list.length >= MIN_DOMAIN);
  const centroids = new Map(domains.map(([d, list]) => [d, Array.from({ length: dims }, (_, k) => median(list.map((i) => z.get(i)![k])))]));
  const issues: ScanIssue[] = [];
  for (const [domain, list] of domains) {
    const own = centroids.get(domain)!;
    const dOwn = list.map((i) => distance(z.get(i)!, own));
    const c = median(dOwn);
    const s = Math.max(mad(dOwn, c), 1e-9);
    list.forEach((img, idx) => {
      for (const [other, oc] of centroids) {
        if (other === domain) continue;
        const dOther = distance(z.get(img)!, oc);
        if (dOther < t.otherDomainRatio * dOwn[idx]) {
          issues.push({ file: img.file, kind: 'domain_outlier', detail: {
            message: `looks like domain ${other}: distance to its centre ${dOther.toFixed(2)} vs ${dOwn[idx].toFixed(2)} to ${domain}'s`,
            value: Math.round((dOther / dOwn[idx]) * 1000) / 1000, threshold: t.otherDomainRatio } });
          return;
        }
      }
      const zOwn = (dOwn[idx] - c) / s;
      if (zOwn > t.ownDomainZ) {
        issues.push({ file: img.file, kind: 'domain_outlier', detail: {
          message: `unlike the rest of domain ${domain} (robust z ${zOwn.toFixed(1)})`, value: Math.round(zOwn * 10) / 10, threshold: t.ownDomainZ } });
      }
    });
  }
  return issues;
}
