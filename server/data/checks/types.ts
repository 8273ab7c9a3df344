// What a scan returns: the issues in the CLI's JSON shape, and one record per
// image with the numbers the dataset view sorts, filters and plots by.
import type { LayoutKind } from '../layout';
import type { ImageFeatures } from './imageFeatures';
import type { IssueKind, Thresholds } from './thresholds';

export interface IssueDetail {
  message: string;
  /** The measured value the threshold was compared with, when there is one. */
  value?: number;
  threshold?: number;
  /** The other file of a duplicate, leak or pair (relative to the dataset root). */
  other?: string;
}

export interface ScanIssue {
  /** Path relative to the dataset folder, with forward slashes. */
  file: string;
  kind: IssueKind;
  detail: IssueDetail;
}

/** Which side of a translation a split belongs to: A, B, or both halves of aligned files. */
export type Domain = 'A' | 'B' | 'AB';

export interface ScannedImage {
  file: string;
  split: string;
  domain: Domain;
  /** Undefined for files that could not be decoded. */
  features?: ImageFeatures;
}

export interface ScanResult {
  layout: LayoutKind;
  splits: Record<string, number>;
  issues: ScanIssue[];
  images: ScannedImage[];
  thresholds: Thresholds;
  cancelled: boolean;
}

export interface ScanOptions {
  thresholds?: Partial<Thresholds>;
  /** Images decoded at once; default 3 (sharp also threads inside each decode). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}
