// Decodes one image ONCE, at a 64x64 working size (sharp's shrink-on-load
// keeps this cheap), and computes every per-image number the checks need.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { phash } from './phash';
import { sharpFailure } from '../sharpError';

export const WORK_SIZE = 64;
/** Formats the training loader reads; anything else sharp decodes (svg, pdf, heif…) is "unsupported". */
export const TRAINABLE_FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'ppm', 'bmp', 'raw']);
const HIST_BINS = 16;
const FEATURE_BINS = 8;

export interface ImageFeatures {
  width: number;
  height: number;
  format: string;
  bytes: number;
  /** sha1 of the original size and the decoded pixels at the working size. */
  pixelHash: string;
  phashHi: number;
  phashLo: number;
  /** Mean, 5th and 99th percentile of pixel brightness (cleanvision's weighting), 0..1. */
  brightness: number;
  brightnessP5: number;
  brightnessP99: number;
  /** Variance of the 3x3 edge filter (PIL FIND_EDGES) on the grayscale working image, 0..255 scale. */
  edgeVariance: number;
  /** Entropy in bits of the concatenated R, G, B histograms (PIL Image.entropy on RGB). */
  entropy: number;
  /** Mean over pixels of the largest channel difference, 0..255; ~0 for a gray image. */
  colourDeviation: number;
  /** Colour histogram, HIST_BINS per channel (R then G then B), fractions of pixels. */
  histogram: number[];
  /** Small colour-statistics vector for domain outlier detection. */
  feature: number[];
}

export type DecodeOutcome =
  | { ok: true; features: ImageFeatures }
  | { ok: false; kind: 'corrupt' | 'unsupported'; reason: string };

function brightnessOf(r: number, g: number, b: number): number {
  return Math.sqrt(0.241 * r * r + 0.691 * g * g + 0.068 * b * b) / 255;
}

function entropyOf(counts: Uint32Array, total: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) { const p = c / total; h -= p * Math.log2(p); }
  return h;
}

/** Reads and decodes `file`; never throws for a bad image, returns why instead. */
export async function decodeFeatures(file: string): Promise<DecodeOutcome> {
  let buffer: Buffer;
  try {
    buffer = await fs.readFile(file);
  } catch (e) {
    return { ok: false, kind: 'corrupt', reason: `unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  if (buffer.length === 0) return { ok: false, kind: 'corrupt', reason: 'empty file (0 bytes)' };
  let meta: sharp.Metadata | undefined;
  let data: Buffer;
  try {
    meta = await sharp(buffer).metadata();
    if (meta.format && !TRAINABLE_FORMATS.has(meta.format)) {
      return { ok: false, kind: 'unsupported', reason: `${meta.format} content; training reads JPEG, PNG, WebP, TIFF, GIF, BMP, PPM` };
    }
    data = await sharp(buffer).resize(WORK_SIZE, WORK_SIZE, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
  } catch (e) {
    return { ok: false, kind: 'corrupt', reason: sharpFailure(e, meta?.format) };
  }
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  return { ok: true, features: featuresOf(data, width, height, meta.format ?? 'unknown', buffer.length) };
}

/** All per-image numbers from the WORK_SIZE x WORK_SIZE RGB pixels. */
export function featuresOf(rgb: Buffer, width: number, height: number, format: string, bytes: number): ImageFeatures {
  const n = WORK_SIZE * WORK_SIZE;
  const gray = new Float64Array(n);
  const bright = new Float64Array(n);
  const channelCounts = new Uint32Array(768);
  const hist = new Array<number>(3 * HIST_BINS).fill(0);
  const fhist = new Array<number>(3 * FEATURE_BINS).fill(0);
  let deviation = 0;
  let saturation = 0;
  const sum = [0, 0, 0];
  const sumSq = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const r = rgb[3 * i];
    const g = rgb[3 * i + 1];
    const b = rgb[3 * i + 2];
    gray[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    bright[i] = brightnessOf(r, g, b);
    channelCounts[r]++;
    channelCounts[256 + g]++;
    channelCounts[512 + b]++;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    deviation += max - min;
    saturation += max === 0 ? 0 : (max - min) / max;
    [r, g, b].forEach((v, c) => {
      hist[c * HIST_BINS + ((v * HIST_BINS) >> 8)] += 1 / n;
      fhist[c * FEATURE_BINS + ((v * FEATURE_BINS) >> 8)] += 1 / n;
      sum[c] += v;
      sumSq[c] += v * v;
    });
  }
  // PIL FIND_EDGES: 3x3 kernel, 8 in the centre and −1 around, interior pixels.
  let es = 0;
  let es2 = 0;
  let en = 0;
  const W = WORK_SIZE;
  for (let y = 1; y < W - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      let e = 8 * gray[i];
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (dx || dy) e -= gray[i + dy * W + dx];
      e = Math.min(255, Math.max(0, e));
      es += e;
      es2 += e * e;
      en++;
    }
  }
  const sortedBright = Float64Array.from(bright).sort();
  const gray32 = new Float64Array(32 * 32);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
    const i = 2 * y * W + 2 * x;
    gray32[y * 32 + x] = (gray[i] + gray[i + 1] + gray[i + W] + gray[i + W + 1]) / 4;
  }
  const [phashHi, phashLo] = phash(gray32);
  const mean = sum.map((s) => s / n / 255);
  const std = sumSq.map((s, c) => Math.sqrt(Math.max(0, s / n / 65025 - mean[c] * mean[c])));
  return {
    width, height, format, bytes,
    pixelHash: createHash('sha1').update(`${width}x${height}:`).update(rgb).digest('hex'),
    phashHi, phashLo,
    brightness: bright.reduce((a, b) => a + b, 0) / n,
    brightnessP5: sortedBright[Math.floor(0.05 * (n - 1))],
    brightnessP99: sortedBright[Math.floor(0.99 * (n - 1))],
    edgeVariance: es2 / en - (es / en) ** 2,
    entropy: entropyOf(channelCounts, 3 * n),
    colourDeviation: deviation / n,
    histogram: hist,
    feature: [...fhist, ...mean, ...std, saturation / n],
  };
}
