// Where translated images go: output file names (the input's base name with
// .png, distinct even when a.jpg and a.png both exist) and the output folder
// (a new sibling `<folder>-to-B`, `-to-B-2`, ... or the user's own), so that
// nothing that exists is ever overwritten.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Direction } from '../../protocol/server';

/**
 * Output name for each input path, in input order. Inputs that are already
 * .png keep their exact name; the others get `<stem>.png`, or, when that is
 * taken, `<name>.png` (a.jpg -> a.jpg.png), then `<stem>-2.png`, ...
 * Compared case-insensitively, so the plan also holds on macOS and Windows.
 */
export function outputNames(inputs: string[]): string[] {
  const taken = new Set<string>();
  const names: string[] = new Array(inputs.length);
  const claim = (i: number, candidates: () => Iterable<string>) => {
    for (const c of candidates()) {
      if (!taken.has(c.toLowerCase())) {
        taken.add(c.toLowerCase());
        names[i] = c;
        return;
      }
    }
  };
  const isPng = (p: string) => path.extname(p).toLowerCase() === '.png';
  // Two passes so a.png keeps "a.png" even when a.jpg sorts before it.
  for (const pass of [true, false]) {
    inputs.forEach((input, i) => {
      if (isPng(input) !== pass) return;
      const base = path.basename(input);
      const stem = path.basename(input, path.extname(input));
      claim(i, function* () {
        yield `${stem}.png`;
        yield `${base}.png`;
        for (let k = 2; ; k++) yield `${stem}-${k}.png`;
      });
    });
  }
  return names;
}

/** `<folder>-to-B` for a folder; for files, `<their folder>-to-B` next to their folder. */
export function defaultOutDirBase(folder: string | undefined, files: string[], direction: Direction): string {
  const source = folder ?? path.dirname(path.resolve(files[0]));
  return `${source.replace(/[\\/]+$/, '')}-to-${direction === 'AtoB' ? 'B' : 'A'}`;
}

/** Create a new folder `base`, or `base-2`, `base-3`, ... whichever does not exist yet. */
export async function createFreshDir(base: string): Promise<string> {
  for (let k = 1; k < 10000; k++) {
    const dir = k === 1 ? base : `${base}-${k}`;
    try {
      await fs.mkdir(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`${base}: too many existing output folders with this name`);
}

/** The first of `base`, `base-2`, ... that does not exist (what createFreshDir would create now). */
export async function nextFreshDir(base: string): Promise<string> {
  for (let k = 1; ; k++) {
    const dir = k === 1 ? base : `${base}-${k}`;
    if (!(await fs.lstat(dir).then(() => true, () => false))) return dir;
  }
}

/**
 * Check a user-chosen output folder before anything is written: it must not be
 * the input folder, and none of the planned names may exist in it.
 */
export async function checkExplicitOutDir(outDir: string, inputFolder: string | undefined, names: string[]): Promise<void> {
  const st = await fs.stat(outDir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new Error(`${outDir}: exists and is not a folder`);
  if (inputFolder && (await fs.realpath(outDir)) === (await fs.realpath(inputFolder))) {
    throw new Error(`${outDir}: the output folder cannot be the input folder (inputs are never modified)`);
  }
  const existing = new Set((await fs.readdir(outDir)).map((n) => n.toLowerCase()));
  const clashes = names.filter((n) => existing.has(n.toLowerCase()));
  if (clashes.length) {
    const more = clashes.length > 1 ? ` and ${clashes.length - 1} more` : '';
    throw new Error(`${outDir} already holds ${clashes[0]}${more}; translate never overwrites files — choose another output folder`);
  }
}
