// Requests between the extension and the server for dataset curation, and the
// data they carry. Paths inside a dataset are relative to its folder with
// forward slashes; the server refuses any that leave the folder.
import { RequestType, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';

/** The scan's issue kinds, in the order summaries list them (also the CLI's JSON names). */
export const ISSUE_KINDS = [
  'corrupt', 'unsupported', 'exact_duplicate', 'near_duplicate', 'dark', 'light', 'blurry',
  'low_information', 'grayscale', 'odd_size', 'odd_aspect_ratio', 'split_leak', 'domain_outlier',
  'missing_pair', 'pair_size_mismatch',
] as const;
export type IssueKind = (typeof ISSUE_KINDS)[number];
export type DatasetLayoutKind = 'unaligned' | 'aligned' | 'paired' | 'single';
/** Which side of a translation a split holds: A, B, or both halves of aligned files. */
export type Domain = 'A' | 'B' | 'AB';

export interface IssueDetail {
  message: string;
  /** The measured value the threshold was compared with, when there is one. */
  value?: number;
  threshold?: number;
  /** The other file of a duplicate, leak or pair. */
  other?: string;
}

export interface DatasetIssue {
  file: string;
  kind: IssueKind;
  detail: IssueDetail;
}

export interface DatasetImage {
  file: string;
  split: string;
  domain: Domain;
  /** Absent when the file could not be decoded. */
  width?: number;
  height?: number;
  bytes?: number;
  format?: string;
  /** Mean brightness 0..1. */
  brightness?: number;
}

export interface DomainStatistics {
  domain: Domain;
  images: number;
  /** Mean colour histogram, 16 bins per channel, fractions of pixels. */
  histogram: { r: number[]; g: number[]; b: number[] };
  /** Images per mean-brightness bin (20 equal bins of 0..1). */
  brightness: number[];
  /** Image sizes, most common first. */
  sizes: { width: number; height: number; count: number }[];
}

export interface ExcludedEntry { file: string; reason: string; date: string }
export interface MoveEntry { from: string; to: string; date: string }

export interface DatasetOverview {
  root: string;
  layout: DatasetLayoutKind;
  splits: Record<string, number>;
  images: DatasetImage[];
  issues: DatasetIssue[];
  stats: DomainStatistics[];
  excluded: ExcludedEntry[];
  moves: MoveEntry[];
  cancelled: boolean;
  seconds: number;
}

export interface DatasetScanParams extends WorkDoneProgressParams { root: string }
export interface DatasetFilesParams { root: string; files: string[] }

// extension → server, first when the view opens or rescans: the layout's files and the manifest, fast (no decoding), so thumbnails show at once.
export const DatasetListRequest = new RequestType<{ root: string }, DatasetOverview, void>('domainTranslator/datasetList');
// extension → server, right after the listing: every image's numbers, issues, statistics, manifest; progress; cancellable.
export const DatasetScanRequest = new RequestType<DatasetScanParams, DatasetOverview, void>('domainTranslator/datasetScan');
export interface DatasetThumbnailsParams extends DatasetFilesParams {
  size: number;
  /** Absolute folder for the cached WebP files (one the webview may load from). */
  cacheDir: string;
}
// extension → server, for the thumbnails the view is about to show: paths of cached WebP files (or why not).
export const DatasetThumbnailsRequest = new RequestType<DatasetThumbnailsParams, { items: { file: string; path?: string; error?: string }[] }, void>('domainTranslator/datasetThumbnails');
// extension → server, from Exclude in the view: records the files in the manifest; returns all exclusions.
export const DatasetExcludeRequest = new RequestType<DatasetFilesParams & { reason: string }, { excluded: ExcludedEntry[] }, void>('domainTranslator/datasetExclude');
// extension → server, from Include in the view: removes the files from the manifest's exclusions.
export const DatasetIncludeRequest = new RequestType<DatasetFilesParams, { excluded: ExcludedEntry[] }, void>('domainTranslator/datasetInclude');
// extension → server, after the user confirmed a move: renames into another split (never overwrites), recorded.
export const DatasetMoveRequest = new RequestType<DatasetFilesParams & { toSplit: string }, { moves: MoveEntry[] }, void>('domainTranslator/datasetMove');
// extension → server, from "Undo Last Move": moves the last recorded move's file back.
export const DatasetUndoMoveRequest = new RequestType<{ root: string }, MoveEntry, void>('domainTranslator/datasetUndoMove');
// extension → server, from "Build Aligned A|B Folder": writes a new <root>_AB folder as the official combine_A_and_B does.
export const DatasetCombineRequest = new RequestType<{ root: string }, { outDir: string; written: number; skipped: { stem: string; reason: string }[] }, void>('domainTranslator/datasetCombine');
// extension → server, from "Create Test Split" after confirmation: moves a fraction of each train split to test, recorded.
export const DatasetTestSplitRequest = new RequestType<{ root: string; fraction: number }, { moves: MoveEntry[] }, void>('domainTranslator/datasetTestSplit');
