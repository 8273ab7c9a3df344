// What the dataset view shows, derived from a snapshot: issues per file,
// counts per kind, and the filtered, sorted lists of each grid. Pure functions.
import { ISSUE_KINDS, type DatasetImage, type DatasetIssue, type DatasetOverview, type Domain, type IssueKind } from '../../protocol/dataset';

export type SortKey = 'name' | 'size' | 'brightness' | 'score';
/** An issue kind, every image, any image with an issue, or the excluded ones. */
export type Filter = IssueKind | 'all' | 'issues' | 'excluded';

export interface ViewOptions {
  filter: Filter;
  sort: SortKey;
  /** A split name, or 'all'. */
  split: string;
}

/** How much each kind weighs in the issue score used for sorting: broken files first. */
const WEIGHT: Record<IssueKind, number> = {
  corrupt: 10, unsupported: 8, missing_pair: 8, pair_size_mismatch: 6, split_leak: 6, exact_duplicate: 5, near_duplicate: 4,
  domain_outlier: 3, grayscale: 3, dark: 2, light: 2, odd_size: 2, odd_aspect_ratio: 2, blurry: 1, low_information: 1,
};

export interface Model {
  overview: DatasetOverview;
  issuesByFile: Map<string, DatasetIssue[]>;
  excluded: Set<string>;
  /** Images per issue kind (files, not issues), every kind listed. */
  counts: Record<IssueKind, number>;
  /** Non-image files the scan found (unsupported): they have issues but no image entry. */
  otherFiles: string[];
}

export function buildModel(overview: DatasetOverview): Model {
  const issuesByFile = new Map<string, DatasetIssue[]>();
  for (const issue of overview.issues) {
    const list = issuesByFile.get(issue.file) ?? [];
    list.push(issue);
    issuesByFile.set(issue.file, list);
  }
  const counts = Object.fromEntries(ISSUE_KINDS.map((k) => [k, 0])) as Record<IssueKind, number>;
  for (const list of issuesByFile.values()) for (const kind of new Set(list.map((i) => i.kind))) counts[kind]++;
  const images = new Set(overview.images.map((i) => i.file));
  return { overview, issuesByFile, excluded: new Set(overview.excluded.map((e) => e.file)), counts,
    otherFiles: [...issuesByFile.keys()].filter((f) => !images.has(f)) };
}

export function issueScore(model: Model, file: string): number {
  return (model.issuesByFile.get(file) ?? []).reduce((s, i) => s + WEIGHT[i.kind], 0);
}

function matches(model: Model, img: DatasetImage, o: ViewOptions): boolean {
  if (o.split !== 'all' && img.split !== o.split) return false;
  if (o.filter === 'all') return true;
  if (o.filter === 'excluded') return model.excluded.has(img.file);
  const issues = model.issuesByFile.get(img.file);
  if (o.filter === 'issues') return !!issues?.length;
  return !!issues?.some((i) => i.kind === o.filter);
}

function compare(model: Model, sort: SortKey): (a: DatasetImage, b: DatasetImage) => number {
  const byName = (a: DatasetImage, b: DatasetImage) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
  switch (sort) {
    case 'name': return byName;
    case 'size': return (a, b) => (b.width ?? 0) * (b.height ?? 0) - (a.width ?? 0) * (a.height ?? 0) || (b.bytes ?? 0) - (a.bytes ?? 0) || byName(a, b);
    // Darkest first; unreadable images (no brightness) last.
    case 'brightness': return (a, b) => (a.brightness ?? 2) - (b.brightness ?? 2) || byName(a, b);
    case 'score': return (a, b) => issueScore(model, b.file) - issueScore(model, a.file) || byName(a, b);
  }
}

/** The images of one domain (or all) that pass the filter, in the chosen order. */
export function visibleImages(model: Model, o: ViewOptions, domain?: Domain): DatasetImage[] {
  return model.overview.images.filter((i) => (domain === undefined || i.domain === domain) && matches(model, i, o)).sort(compare(model, o.sort));
}

export interface PairRow {
  stem: string;
  a?: DatasetImage;
  b?: DatasetImage;
  /** 'missing' when one side is absent, 'mismatch' when sizes differ. */
  problem?: 'missing' | 'mismatch';
}

const stemOf = (file: string) => file.slice(file.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '');

/** Paired A/ B/ folders as rows matched by stem; a row passes the filter when either side does. */
export function pairRows(model: Model, o: ViewOptions): PairRow[] {
  const rows = new Map<string, PairRow>();
  for (const img of model.overview.images) {
    const stem = stemOf(img.file);
    const row = rows.get(stem) ?? { stem };
    if (img.domain === 'A') row.a = img;
    else row.b = img;
    rows.set(stem, row);
  }
  const out: PairRow[] = [];
  const all = { ...o, split: 'all' };
  for (const row of rows.values()) {
    if (!row.a || !row.b) row.problem = 'missing';
    else if (row.a.width !== undefined && row.b.width !== undefined && (row.a.width !== row.b.width || row.a.height !== row.b.height)) row.problem = 'mismatch';
    if ([row.a, row.b].some((i) => i && matches(model, i, all))) out.push(row);
  }
  const cmp = compare(model, o.sort);
  return out.sort((x, y) => cmp((x.a ?? x.b)!, (y.a ?? y.b)!));
}

/** URI of a dataset file under the webview base URI, each path segment encoded. */
export function fileUri(baseUri: string, file: string): string {
  return `${baseUri}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export const KIND_LABEL: Record<IssueKind, string> = {
  corrupt: 'Corrupt', unsupported: 'Unsupported', exact_duplicate: 'Exact duplicate', near_duplicate: 'Near duplicate',
  dark: 'Dark', light: 'Light', blurry: 'Blurry', low_information: 'Low information', grayscale: 'Grayscale',
  odd_size: 'Odd size', odd_aspect_ratio: 'Odd aspect ratio', split_leak: 'Split leak', domain_outlier: 'Domain outlier',
  missing_pair: 'Missing pair', pair_size_mismatch: 'Pair size mismatch',
};
