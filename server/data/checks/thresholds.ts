// Every threshold the scan uses, with where its default comes from. Users
// override any of them in the dataset manifest ("thresholds").
//
// cleanvision = cleanlab/cleanvision, ImagePropertyIssueManager.get_default_params
// (src/cleanvision/issue_managers/image_property_issue_manager.py, v0.3.x) and
// DuplicateIssueManager (duplicate_issue_manager.py). Where we had no published
// default, the value is ours and the comment says how it was chosen.

export { ISSUE_KINDS, type IssueKind } from '../../../protocol/dataset';

export interface Thresholds {
  /** Dark when the 99th percentile of pixel brightness is below this (0..1). cleanvision dark.threshold = 0.32. */
  dark: number;
  /** Light when 1 − (5th percentile of brightness) is below this. cleanvision light.threshold = 0.05. */
  light: number;
  /** Blurry when 1 − exp(−var(edges) · blurryNormalizingFactor) is below this. cleanvision blurry.threshold = 0.29. */
  blurry: number;
  /** cleanvision blurry.normalizing_factor = 0.01 (edges of the grayscale image at ≤ 64 px, as cleanvision's MAX_RESOLUTION_FOR_BLURRY_DETECTION). */
  blurryNormalizingFactor: number;
  /** Low information when entropy · lowInformationNormalizingFactor is below this. cleanvision low_information.threshold = 0.3. */
  lowInformation: number;
  /** cleanvision low_information.normalizing_factor = 0.1 (entropy in bits of the R,G,B histograms, as PIL Image.entropy). */
  lowInformationNormalizingFactor: number;
  /** Odd aspect ratio when min(w/h, h/w) is below this. cleanvision odd_aspect_ratio.threshold = 0.35. */
  oddAspectRatio: number;
  /** Odd size when sqrt(area) differs from its domain's median by more than this factor either way. cleanvision odd_size.threshold = 10. */
  oddSizeRatio: number;
  /** Also odd size when the shorter side is below this many pixels. Ours: smaller than a tenth of the official 256 crop. */
  minSide: number;
  /** Near duplicates when the 64-bit DCT pHashes differ in at most this many bits. Ours (cleanvision groups equal 8x8 wavelet hashes, i.e. distance 0).
   *  Distances are even (the median splits the 64 coefficients in half). Measured on ../shared/datasets: the one pair at 2 (horse2zebra trainA
   *  n02381460_4385 / _5355) is a real near copy; the closest pair at 4 (facades val/65, train/21) is two different buildings. */
  nearDuplicateBits: number;
  /** Grayscale when the mean over pixels of max(|R−G|, |G−B|, |R−B|) is at most this (0..255). Ours: JPEG chroma noise of a gray image stays below 2. */
  grayscaleTolerance: number;
  /** A domain counts as colour (so gray images in it are flagged) when fewer than this fraction of its images are gray. Ours. */
  colourDomainMinFraction: number;
  /** Domain outlier when the distance to the other domain's centroid is below this fraction of the distance to its own. Ours, measured on the shared datasets. */
  otherDomainRatio: number;
  /** Domain outlier when the robust z-score (median/MAD) of the distance to its own centroid exceeds this. Ours: colour statistics are heavy-tailed,
   *  so the usual modified-z cut of 3.5 (Iglewicz & Hoaglin) flags ~3% of clean photos; 8 flags ≤ 1.2% of the shared datasets. */
  ownDomainZ: number;
}

export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = Object.freeze({
  dark: 0.32,
  light: 0.05,
  blurry: 0.29,
  blurryNormalizingFactor: 0.01,
  lowInformation: 0.3,
  lowInformationNormalizingFactor: 0.1,
  oddAspectRatio: 0.35,
  oddSizeRatio: 10,
  minSide: 24,
  nearDuplicateBits: 2,
  grayscaleTolerance: 2,
  colourDomainMinFraction: 0.5,
  otherDomainRatio: 0.7,
  ownDomainZ: 8,
});

/** Defaults with the overrides applied; throws on an unknown name or a non-finite value. */
export function resolveThresholds(overrides: Partial<Record<string, unknown>> = {}): Thresholds {
  const out: Thresholds = { ...DEFAULT_THRESHOLDS };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in DEFAULT_THRESHOLDS)) throw new Error(`unknown threshold "${key}" (known: ${Object.keys(DEFAULT_THRESHOLDS).join(', ')})`);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`threshold "${key}" must be a finite number, got ${JSON.stringify(value)}`);
    out[key as keyof Thresholds] = value;
  }
  return out;
}
