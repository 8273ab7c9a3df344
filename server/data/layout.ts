// Detects which of the official dataset layouts a folder uses, so existing
// CycleGAN / pix2pix datasets work untouched.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export type LayoutKind = 'unaligned' | 'aligned' | 'paired' | 'single';

export interface Split {
  /** Official folder name: trainA, testB, train, val, A, B, or '.' for a single folder. */
  name: string;
  dir: string;
  /** Image file names (not paths), sorted as the official make_dataset sorts them. */
  files: string[];
}

export interface DatasetLayout {
  kind: LayoutKind;
  root: string;
  splits: Split[];
}

/** The extensions the official IMG_EXTENSIONS accepts, plus webp and tiff, which sharp reads. */
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.webp', '.tif', '.tiff', '.gif']);

export function hasImageExtension(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

async function imageNames(dir: string): Promise<string[] | undefined> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  return entries.filter((e) => !e.isDirectory() && hasImageExtension(e.name)).map((e) => e.name).sort();
}

async function splitsOf(root: string, names: string[]): Promise<Split[]> {
  const out: Split[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    const files = await imageNames(dir);
    if (files) out.push({ name, dir, files });
  }
  return out;
}

const UNALIGNED = ['trainA', 'trainB', 'testA', 'testB', 'valA', 'valB'];
const ALIGNED = ['train', 'val', 'test'];
const PAIRED = ['A', 'B'];

/** Throws a one-line error when the folder is missing or holds no images in any known layout. */
export async function detectLayout(root: string): Promise<DatasetLayout> {
  const stat = await fs.stat(root).catch(() => undefined);
  if (!stat?.isDirectory()) throw new Error(`${root}: not a folder`);
  const unaligned = await splitsOf(root, UNALIGNED);
  if (unaligned.some((s) => s.name.endsWith('A')) && unaligned.some((s) => s.name.endsWith('B'))) {
    return { kind: 'unaligned', root, splits: unaligned };
  }
  const paired = await splitsOf(root, PAIRED);
  if (paired.length === 2) return { kind: 'paired', root, splits: paired };
  const aligned = await splitsOf(root, ALIGNED);
  if (aligned.some((s) => s.files.length > 0)) return { kind: 'aligned', root, splits: aligned };
  const single = await splitsOf(root, ['.']);
  if (single[0]?.files.length) return { kind: 'single', root, splits: single };
  throw new Error(`${root}: no images in a known layout (expected trainA/ and trainB/, train/ with A|B images, A/ and B/, or images in the folder)`);
}
