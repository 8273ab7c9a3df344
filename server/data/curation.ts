// Curation actions that never delete or alter an image: moves are real renames
// that refuse to overwrite and are recorded in the manifest so they can be
// undone; combining A/ and B/ writes a new folder and never overwrites.
import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { matchPairs, stemOf } from './checks/pairs';
import { detectLayout } from './layout';
import { checkRelative, readManifest, updateManifest, type MoveRecord } from './manifest';

/** Split folder names a move may target: the official ones of every layout. */
const SPLIT_NAMES = new Set(['trainA', 'trainB', 'testA', 'testB', 'valA', 'valB', 'train', 'val', 'test', 'A', 'B']);

/** Renames without ever replacing an existing file (hard link + unlink; copy + unlink where links are not allowed). */
async function renameNoReplace(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  try {
    await fs.link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new Error(`${to} already exists; nothing was moved`);
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    await fs.copyFile(from, to, fsConstants.COPYFILE_EXCL);
  }
  await fs.unlink(from);
}

/** Moves dataset files into another split folder, keeping their names; all targets are checked before anything moves. */
export async function moveFiles(root: string, files: string[], toSplit: string, date = new Date()): Promise<MoveRecord[]> {
  if (!SPLIT_NAMES.has(toSplit)) throw new Error(`"${toSplit}" is not a split folder name (${[...SPLIT_NAMES].join(', ')})`);
  const records = files.map((f, i) => {
    checkRelative(f, `files[${i}]`);
    return { from: f, to: `${toSplit}/${path.posix.basename(f)}`, date: date.toISOString() };
  });
  const targets = new Set<string>();
  for (const r of records) {
    if (r.from === r.to) throw new Error(`${r.from} is already in ${toSplit}/`);
    if (targets.has(r.to)) throw new Error(`two files would both become ${r.to}`);
    targets.add(r.to);
    await fs.access(path.join(root, r.from)).catch(() => { throw new Error(`${r.from} does not exist in ${root}`); });
    if (await fs.lstat(path.join(root, r.to)).then(() => true, () => false)) throw new Error(`${r.to} already exists; nothing was moved`);
  }
  const done: MoveRecord[] = [];
  try {
    for (const r of records) {
      await renameNoReplace(path.join(root, r.from), path.join(root, r.to));
      done.push(r);
    }
  } finally {
    await recordMoves(root, done);
  }
  return done;
}

/** Appends moves and carries exclusions along with the files they name. */
function recordMoves(root: string, moves: MoveRecord[]) {
  if (moves.length === 0) return Promise.resolve();
  const to = new Map(moves.map((m) => [m.from, m.to]));
  return updateManifest(root, (m) => {
    m.moves.push(...moves);
    for (const e of m.excluded) e.file = to.get(e.file) ?? e.file;
  });
}

/** Moves a recorded move's file back (default: the last move) and drops the record. */
export async function undoMove(root: string, index?: number): Promise<MoveRecord> {
  const manifest = await readManifest(root);
  const i = index ?? manifest.moves.length - 1;
  const record = manifest.moves[i];
  if (!record) throw new Error(manifest.moves.length ? `no move #${i} (there are ${manifest.moves.length})` : 'no recorded move to undo');
  await renameNoReplace(path.join(root, record.to), path.join(root, record.from));
  await updateManifest(root, (m) => {
    const at = m.moves.findIndex((r) => r.from === record.from && r.to === record.to && r.date === record.date);
    if (at >= 0) m.moves.splice(at, 1);
    for (const e of m.excluded) if (e.file === record.to) e.file = record.from;
  });
  return record;
}

/** Deterministic shuffle (mulberry32), so the same seed picks the same test images. */
function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Moves `fraction` of each training split into its test split (trainA→testA, trainB→testB, train→test), recorded. */
export async function createTestSplit(root: string, fraction: number, seed = 0): Promise<MoveRecord[]> {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`fraction must be between 0 and 1, got ${fraction}`);
  const layout = await detectLayout(root);
  if (layout.kind === 'paired' || layout.kind === 'single') {
    throw new Error(`a ${layout.kind} folder has no train split; ${layout.kind === 'paired' ? 'build an aligned A|B folder first' : 'make trainA/ and trainB/ first'}`);
  }
  const moved: MoveRecord[] = [];
  for (const split of layout.splits.filter((s) => s.name.startsWith('train'))) {
    const count = Math.floor(split.files.length * fraction);
    const pick = shuffled(split.files, seed).slice(0, count).sort();
    moved.push(...await moveFiles(root, pick.map((f) => `${split.name}/${f}`), split.name.replace(/^train/, 'test')));
  }
  return moved;
}

export interface CombineResult {
  outDir: string;
  written: string[];
  skipped: { stem: string; reason: string }[];
}

/**
 * Builds an aligned dataset from paired A/ and B/ folders, as the official
 * combine_A_and_B.py does: A and B side by side in one image. Writes lossless
 * PNGs into `<outDir>/train/`; refuses an existing outDir.
 */
export async function combineAB(root: string, outDir = `${root.replace(/[\\/]+$/, '')}_AB`): Promise<CombineResult> {
  const layout = await detectLayout(root);
  if (layout.kind !== 'paired') throw new Error(`${root} is not paired A/ and B/ folders (detected: ${layout.kind})`);
  if (await fs.lstat(outDir).then(() => true, () => false)) throw new Error(`${outDir} already exists; choose a new folder`);
  const a = layout.splits.find((s) => s.name === 'A')!;
  const b = layout.splits.find((s) => s.name === 'B')!;
  const match = matchPairs(a.files, b.files);
  const trainDir = path.join(outDir, 'train');
  await fs.mkdir(trainDir, { recursive: true });
  const result: CombineResult = { outDir, written: [], skipped: [] };
  for (const name of match.onlyA) result.skipped.push({ stem: stemOf(name), reason: 'no B image' });
  for (const name of match.onlyB) result.skipped.push({ stem: stemOf(name), reason: 'no A image' });
  for (const p of match.pairs) {
    try {
      const [ia, ib] = await Promise.all([p.a, p.b].map((f, k) =>
        sharp(path.join(k ? b.dir : a.dir, f)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true })));
      if (ia.info.height !== ib.info.height) {
        result.skipped.push({ stem: p.stem, reason: `heights differ (A ${ia.info.width}x${ia.info.height}, B ${ib.info.width}x${ib.info.height})` });
        continue;
      }
      // Row by row: A's row then B's row, exactly as numpy.concatenate([A, B], 1).
      const width = ia.info.width + ib.info.width;
      const rowA = ia.info.width * 3;
      const rowB = ib.info.width * 3;
      const out = Buffer.alloc(width * 3 * ia.info.height);
      for (let y = 0; y < ia.info.height; y++) {
        ia.data.copy(out, y * (rowA + rowB), y * rowA, (y + 1) * rowA);
        ib.data.copy(out, y * (rowA + rowB) + rowA, y * rowB, (y + 1) * rowB);
      }
      const file = path.join(trainDir, `${p.stem}.png`);
      await sharp(out, { raw: { width, height: ia.info.height, channels: 3 } }).png().toFile(file);
      result.written.push(path.relative(outDir, file).split(path.sep).join('/'));
    } catch (e) {
      result.skipped.push({ stem: p.stem, reason: (e as Error).message.split('\n')[0] });
    }
  }
  return result;
}
