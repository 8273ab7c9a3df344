// The official training datasets on top of detectLayout: unaligned
// (trainA/ + trainB/, B drawn at random unless serial_batches), aligned
// (train/ with A|B side by side, halves sharing crop and flip) and paired
// folders (A/ + B/ matched by file stem, treated as aligned). Each item comes
// out in the model's orientation: `A` is real_A, `B` is real_B after --direction.
// Files excluded in the dataset's curation manifest (domain-translator.dataset.json)
// are left out, as if they were not in the folder.
import * as path from 'node:path';
import { detectLayout, type DatasetLayout, type Split } from './layout';
import { excludedFiles } from './manifest';
import { getParams, imageSize, loadTransformed, type ImageTensorData, type PreprocessOptions, type Region } from './preprocess';
import { Rng } from '../train/rng';
import { usableImages, type SkippedImage } from './usableImages';
import type { Direction } from '../../protocol/server';

export interface DatasetOptions extends PreprocessOptions {
  direction: Direction;
  serial_batches: boolean;
}

export interface Sample {
  A: ImageTensorData;
  B: ImageTensorData;
  pathA: string;
  pathB: string;
}

export interface TrainDataset {
  kind: 'unaligned' | 'aligned' | 'paired';
  root: string;
  /** Items per epoch as the official __len__: max(|A|, |B|) unaligned, pairs otherwise. */
  size: number;
  /** Training files left out because they do not decode (zero-byte, truncated, not an image, too large…). */
  skipped: SkippedImage[];
  /** Load item `index`; every random choice comes from `rng`, so an item is a pure function of (index, rng state). */
  load(index: number, rng: Rng): Promise<Sample>;
}

function split(layout: DatasetLayout, name: string): Split | undefined {
  return layout.splits.find((s) => s.name === name);
}

function need(layout: DatasetLayout, name: string): Split {
  const s = split(layout, name);
  if (!s || s.files.length === 0) throw new Error(`${layout.root}: ${name}/ holds no usable images (after the curation manifest's exclusions and leaving out files that do not decode)`);
  return s;
}

class UnalignedDataset implements TrainDataset {
  readonly kind = 'unaligned';
  readonly size: number;
  skipped: SkippedImage[] = [];
  private readonly a: string[];
  private readonly b: string[];

  constructor(
    readonly root: string,
    layout: DatasetLayout,
    private readonly o: DatasetOptions,
  ) {
    const trainA = need(layout, 'trainA');
    const trainB = need(layout, 'trainB');
    const pa = trainA.files.map((f) => path.join(trainA.dir, f));
    const pb = trainB.files.map((f) => path.join(trainB.dir, f));
    // The official dataset always reads trainA/trainB; set_input swaps them for BtoA.
    [this.a, this.b] = o.direction === 'AtoB' ? [pa, pb] : [pb, pa];
    this.size = Math.max(this.a.length, this.b.length);
  }

  async load(index: number, rng: Rng): Promise<Sample> {
    const pathA = this.a[index % this.a.length];
    const indexB = this.o.serial_batches ? index % this.b.length : rng.randint(0, this.b.length - 1);
    const pathB = this.b[indexB];
    const rngA = Rng.from(rng.nextUint32());
    const rngB = Rng.from(rng.nextUint32());
    const [A, B] = await Promise.all([loadTransformed(pathA, this.o, 'whole', rngA), loadTransformed(pathB, this.o, 'whole', rngB)]);
    return { A, B, pathA, pathB };
  }
}

/** A|B files (aligned) or A/ and B/ files matched by stem (paired); both share one crop and flip per pair. */
class PairDataset implements TrainDataset {
  readonly size: number;
  skipped: SkippedImage[] = [];

  constructor(
    readonly kind: 'aligned' | 'paired',
    readonly root: string,
    private readonly pairs: { a: string; b: string; regionA: Region; regionB: Region }[],
    private readonly o: DatasetOptions,
  ) {
    this.size = pairs.length;
  }

  async load(index: number, rng: Rng): Promise<Sample> {
    const p = this.pairs[index];
    const swap = this.o.direction === 'BtoA';
    const [fileA, regionA, fileB, regionB] = swap ? [p.b, p.regionB, p.a, p.regionA] : [p.a, p.regionA, p.b, p.regionB];
    // get_params(opt, A.size) on the file's A half, before any direction swap, as aligned_dataset.py.
    const size = await imageSize(p.a, p.regionA);
    const params = getParams(this.o, size.w, size.h, rng);
    const [A, B] = await Promise.all([loadTransformed(fileA, this.o, regionA, params), loadTransformed(fileB, this.o, regionB, params)]);
    return { A, B, pathA: fileA, pathB: fileB };
  }
}

function stem(f: string): string {
  return path.basename(f, path.extname(f));
}

/** Open the training split of a dataset folder in any official layout; one clear error when it cannot train. */
/** The layout without the files the curation manifest excludes (dataset-relative, forward slashes). */
async function curatedLayout(root: string): Promise<DatasetLayout> {
  const layout = await detectLayout(root);
  const excluded = await excludedFiles(root);
  if (excluded.size === 0) return layout;
  const rel = (s: Split, f: string) => path.relative(root, path.join(s.dir, f)).split(path.sep).join('/');
  return { ...layout, splits: layout.splits.map((s) => ({ ...s, files: s.files.filter((f) => !excluded.has(rel(s, f))) })) };
}

/** Splits a model trains on, per layout. */
const TRAIN_SPLITS = new Set(['trainA', 'trainB', 'train', 'A', 'B']);

/** The layout without training files that do not decode, and those files with the reason. */
async function usableLayout(root: string): Promise<{ layout: DatasetLayout; skipped: SkippedImage[] }> {
  const layout = await curatedLayout(root);
  const files = layout.splits.filter((s) => TRAIN_SPLITS.has(s.name)).flatMap((s) => s.files.map((f) => path.join(s.dir, f)));
  const { unusable } = await usableImages(files);
  if (unusable.size === 0) return { layout, skipped: [] };
  const skipped = [...unusable].map(([file, reason]) => ({ file: path.relative(root, file).split(path.sep).join('/'), reason })).sort((a, b) => (a.file < b.file ? -1 : 1));
  return { layout: { ...layout, splits: layout.splits.map((s) => ({ ...s, files: s.files.filter((f) => !unusable.has(path.join(s.dir, f))) })) }, skipped };
}

export async function openTrainDataset(root: string, o: DatasetOptions, model: 'cyclegan' | 'pix2pix'): Promise<TrainDataset> {
  const { layout, skipped } = await usableLayout(root);
  const dataset = openLayout(root, layout, o, model);
  dataset.skipped = skipped;
  return dataset;
}

function openLayout(root: string, layout: DatasetLayout, o: DatasetOptions, model: 'cyclegan' | 'pix2pix'): TrainDataset {
  if (layout.kind === 'unaligned') {
    if (model === 'pix2pix') throw new Error(`${root}: pix2pix needs paired images (train/ with A|B files, or A/ and B/), found unpaired trainA/ and trainB/`);
    return new UnalignedDataset(root, layout, o);
  }
  if (layout.kind === 'aligned') {
    const train = need(layout, 'train');
    const pairs = train.files.map((f) => ({ a: path.join(train.dir, f), b: path.join(train.dir, f), regionA: 'left' as const, regionB: 'right' as const }));
    return new PairDataset('aligned', root, pairs, o);
  }
  if (layout.kind === 'paired') {
    const a = need(layout, 'A');
    const b = need(layout, 'B');
    const bByStem = new Map(b.files.map((f) => [stem(f), f]));
    const pairs = a.files.filter((f) => bByStem.has(stem(f))).map((f) => ({ a: path.join(a.dir, f), b: path.join(b.dir, bByStem.get(stem(f))!), regionA: 'whole' as const, regionB: 'whole' as const }));
    if (pairs.length === 0) throw new Error(`${root}: no file in A/ has a partner with the same name in B/`);
    return new PairDataset('paired', root, pairs, o);
  }
  throw new Error(`${root}: a single folder of images cannot be trained on (expected trainA/ and trainB/, train/ with A|B images, or A/ and B/)`);
}
