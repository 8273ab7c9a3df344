// The translation loop: decode the next images with sharp (its own threads)
// while the generator runs the current batch, encode PNGs asynchronously,
// report progress and honour cancellation between images. Consecutive images
// of one size go through the generator together; BatchNorm then takes each
// image's own statistics, so every output is what the official test.py gives
// for that image alone (its batch size is 1).
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Direction, ModelSummary, SkippedItem, TranslatedItem } from '../../protocol/server';
import { decodeRgb, pixelsToTensor, resizePixels, roundToMultiple, tensorToPixels, toGray, UnreadableImageError, writePng, type Pixels } from '../data/imageIO';
import { listInputs, type InputListing } from '../data/imageFiles';
import { checkExplicitOutDir, createFreshDir, defaultOutDirBase, nextFreshDir, outputNames } from './outputPlan';

/** What the loop needs from a generator (models/network.ts's Generator has it). */
export interface ImageGenerator {
  apply(x: tf.Tensor4D, options: { training: boolean; perSample: boolean }): tf.Tensor4D;
}

export interface TranslateHooks {
  onProgress(done: number, total: number, imagesPerSecond: number): void;
  /** Asked once before each image. */
  isCancelled(): boolean;
}

export interface RunOptions {
  inputs: string[];
  direction: Direction;
  outDir?: string;
  eval: boolean;
  keepSize: boolean;
}

export interface RunResult {
  /** Created at the first write; when nothing was written, the name it would have had (not created). */
  outDir: string;
  translated: TranslatedItem[];
  /** Unreadable files, and images the generator could not take (e.g. too small), with the reason. */
  unreadable: SkippedItem[];
  nonImages: number;
  cancelled: boolean;
  /** Translated images per second of the loop (decode, generator, encode; model loading excluded). */
  imagesPerSecond: number;
}

/**
 * Images per generator call at 256x256. A batch reads the weights once for all
 * its images: unet_256 (218 MB of weights) went from 9.2 to 14.6 images/s
 * (generator alone) at 4 and 16.9 at 8, for 0.75 GB more memory (scratch runs
 * of Generator.apply, tfjs-node). ResNets (compute-bound) run one image at a
 * time: 2 gained 2.0 -> 2.2 images/s on an AVX-512 CPU and nothing measurable
 * on an AVX2 one (1.13-1.33 vs 1.16-1.26 end to end), and there a batch's
 * convolutions summed in another order, so an image's output changed with its
 * neighbour.
 */
function maxBatch(architecture: string): number {
  return architecture.startsWith('unet') ? 8 : 1;
}

/** Images per generator call at this size: maxBatch at 256x256, fewer for bigger images, by pixel count. */
export function batchSize(architecture: string, width: number, height: number): number {
  const most = maxBatch(architecture);
  return Math.max(1, Math.min(most, Math.floor((most * 256 * 256) / (width * height))));
}

const PROGRESS_INTERVAL_MS = 100;

type Prepared = { ok: true; pixels: Pixels; width: number; height: number } | { ok: false; reason: string };

/** Decode, round the sides to the model's multiple (official __make_power_2, bicubic), and match its input channels. */
async function prepare(file: string, model: ModelSummary): Promise<Prepared> {
  try {
    // The generator blocks this thread ~0.5 s at a time and each step of an
    // async read waits for a gap between batches: read at once, decode ahead.
    const decoded = await decodeRgb(file, { readSync: true });
    const w = roundToMultiple(decoded.width, model.sizeMultiple);
    const h = roundToMultiple(decoded.height, model.sizeMultiple);
    const resized = await resizePixels(decoded, w, h);
    const pixels = model.inputNc === 1 ? toGray(resized) : resized;
    return { ok: true, pixels, width: decoded.width, height: decoded.height };
  } catch (err) {
    const reason = err instanceof UnreadableImageError ? err.message : `cannot decode (${(err as Error).message.split('\n')[0]})`;
    return { ok: false, reason };
  }
}

/** One batch of images of one size through the generator; the outputs in the same order. */
async function runGenerator(generator: ImageGenerator, batch: Pixels[], training: boolean): Promise<Pixels[]> {
  const x = pixelsToTensor(...batch);
  let y: tf.Tensor4D;
  try {
    // tidy disposes the intermediates, also when apply throws.
    y = tf.tidy(() => generator.apply(x, { training, perSample: true }));
  } finally {
    x.dispose();
  }
  try {
    return await tensorToPixels(y);
  } finally {
    y.dispose();
  }
}

function checkChannels(model: ModelSummary): void {
  if (model.inputNc !== 1 && model.inputNc !== 3) {
    throw new Error(`${model.path}: the model takes ${model.inputNc} input channels; images give 3 (RGB) or 1 (grayscale)`);
  }
}

/** What will be read and where it will go, checked before the model is loaded. */
export interface TranslationPlan {
  listing: InputListing;
  /** Output file name of each listing.images entry. */
  names: string[];
  /** Default output folder name (before -2, -3, ...), used when no outDir is given. */
  base: string;
}

/** List the inputs and check an explicit output folder; throws one-line errors for bad input. */
export async function planTranslation(options: RunOptions): Promise<TranslationPlan> {
  const listing = await listInputs(options.inputs);
  const names = outputNames(listing.images);
  if (options.outDir) await checkExplicitOutDir(options.outDir, listing.folder, names);
  const base = defaultOutDirBase(listing.folder, listing.images.length ? listing.images : options.inputs, options.direction);
  return { listing, names, base };
}

export async function runTranslation(generator: ImageGenerator, model: ModelSummary, options: RunOptions, hooks: TranslateHooks,
  plan?: TranslationPlan): Promise<RunResult> {
  checkChannels(model);
  const { listing, names, base } = plan ?? (await planTranslation(options));
  const files = listing.images;

  // The output folder is created when the first image is ready to be written.
  let outDirReady: Promise<string> | undefined;
  const explicit = options.outDir;
  const outDir = () => (outDirReady ??= explicit
    ? fs.mkdir(explicit, { recursive: true }).then(() => explicit)
    : createFreshDir(base));

  const translated: TranslatedItem[] = [];
  const unreadable: SkippedItem[] = [];
  const writes: Promise<TranslatedItem>[] = [];
  const most = maxBatch(model.architecture);
  // Decoding stays a batch and two images ahead of the generator.
  const lookahead = most + 2;
  const prepared: (Promise<Prepared> | undefined)[] = [];
  const startPrepare = (i: number) => {
    if (i < files.length) prepared[i] = prepare(files[i], model);
  };
  for (let i = 0; i < lookahead; i++) startPrepare(i);

  const start = Date.now();
  let lastReport = 0;
  let done = 0;
  let cancelled = false;
  const rate = () => {
    const seconds = (Date.now() - start) / 1000;
    return seconds > 0 ? (translated.length + writes.length) / seconds : 0;
  };
  let lastDone = -1;
  const report = (final: boolean) => {
    const now = Date.now();
    if (final ? done === lastDone : now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    lastDone = done;
    hooks.onProgress(done, files.length, rate());
  };

  type Decoded = { index: number; item: Extract<Prepared, { ok: true }> };
  /** The outputs of a batch, or per image the error that kept it from being translated. */
  const translateBatch = async (batch: Decoded[]): Promise<(Pixels | Error)[]> => {
    const run = (b: Decoded[]) => runGenerator(generator, b.map((d) => d.item.pixels), !options.eval);
    try {
      return await run(batch);
    } catch (err) {
      if (batch.length === 1) return [err as Error];
      // Again image by image, so only the image at fault is reported (and a batch too big for memory still runs).
      const outs: (Pixels | Error)[] = [];
      for (const d of batch) outs.push(await run([d]).then(([p]) => p, (e: Error) => e));
      return outs;
    }
  };
  let batch: Decoded[] = [];
  const flush = async () => {
    const taken = batch;
    batch = [];
    if (!taken.length) return;
    const outs = await translateBatch(taken);
    for (const [k, { index, item }] of taken.entries()) {
      const out = outs[k];
      done++;
      if (out instanceof Error) {
        // Per image, e.g. a 1x1 picture is too small for the network's padding; the run goes on.
        unreadable.push({ input: files[index], reason: `could not be translated at ${item.pixels.width}x${item.pixels.height}: ${out.message.split('\n')[0]}` });
        continue;
      }
      const file = path.join(await outDir(), names[index]);
      const size = options.keepSize ? { width: item.width, height: item.height } : undefined;
      const input = files[index];
      writes.push(writePng(out, file, size).then(() => ({ input, output: file, width: size?.width ?? out.width, height: size?.height ?? out.height })));
    }
    // Two batches of PNGs in flight: waiting here for the previous batch's
    // writes (each step a turn of the blocked event loop) cost 40-100 ms per batch.
    while (writes.length > 2 * most) translated.push(await writes.shift()!);
    report(false);
  };

  try {
    for (let i = 0; i < files.length; i++) {
      if (hooks.isCancelled()) {
        cancelled = true;
        break;
      }
      const item = await prepared[i]!;
      prepared[i] = undefined;
      startPrepare(i + lookahead);
      if (!item.ok) {
        unreadable.push({ input: files[i], reason: item.reason });
        done++;
        report(false);
        continue;
      }
      const { width, height, channels } = item.pixels;
      const head = batch[0]?.item.pixels;
      if (head && (head.width !== width || head.height !== height || head.channels !== channels)) await flush();
      batch.push({ index: i, item });
      if (batch.length >= batchSize(model.architecture, width, height)) await flush();
    }
    // After a cancel too: the images taken before it are translated.
    await flush();
    while (writes.length) translated.push(await writes.shift()!);
  } finally {
    // On an error, let the other writes and decodes settle so none rejects unobserved.
    await Promise.allSettled([...writes, ...prepared.filter((p) => p !== undefined)]);
  }
  report(true);
  const seconds = (Date.now() - start) / 1000;
  return {
    outDir: outDirReady ? await outDirReady : options.outDir ?? (await nextFreshDir(base)),
    translated,
    unreadable,
    nonImages: listing.nonImages.length,
    cancelled,
    imagesPerSecond: seconds > 0 ? translated.length / seconds : 0,
  };
}
