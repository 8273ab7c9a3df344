// What a scan returns: the issues in the CLI's JSON shape, and one record per
// image with the numbers the dataset view sorts, filters and plots by.
import type { LayoutKind } from '../layout';
import type { ImageFeatures } from './imageFeatures';
import type { DatasetIssue, Domain } from '../../../protocol/dataset';
import type { Thresholds } from './thresholds';

export type { Domain, IssueDetail } from '../../../protocol/dataset';
/** One problem found: file relative to the dataset folder with forward slashes. */
export type ScanIssue = DatasetIssue;

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
