// domain-translator.dataset.json: the user's curation decisions about a dataset
// folder, as plain JSON in a stable order so it reads well in a diff. Images
// are never changed; exclusions live here and training honours them.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { resolveThresholds, type Thresholds } from './checks/thresholds';

export const MANIFEST_NAME = 'domain-translator.dataset.json';
const VERSION = 1;

export interface ExcludedFile {
  /** Relative to the dataset folder, forward slashes. */
  file: string;
  reason: string;
  /** ISO 8601. */
  date: string;
}

export interface MoveRecord {
  from: string;
  to: string;
  date: string;
}

export interface DatasetManifest {
  version: number;
  excluded: ExcludedFile[];
  /** Moves done by the tool, oldest first, so each can be undone. */
  moves: MoveRecord[];
  /** Overrides of the scan's default thresholds. */
  thresholds: Partial<Thresholds>;
}

export function emptyManifest(): DatasetManifest {
  return { version: VERSION, excluded: [], moves: [], thresholds: {} };
}

/** A dataset-relative path that stays inside the folder; throws otherwise. */
export function checkRelative(file: unknown, where: string): string {
  if (typeof file !== 'string' || file === '') throw new Error(`${where} must be a non-empty path`);
  const norm = path.posix.normalize(file);
  if (file.includes('\\') || path.posix.isAbsolute(file) || norm !== file || norm === '..' || norm.startsWith('../') || file.startsWith('./')) {
    throw new Error(`${where} must be a path inside the dataset folder with forward slashes, got ${JSON.stringify(file)}`);
  }
  return file;
}

function str(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where} must be a string`);
  return value;
}

function list<T>(value: unknown, where: string, item: (v: Record<string, unknown>, at: string) => T): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${where} must be a list`);
  return value.map((v, i) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}[${i}] must be an object`);
    return item(v as Record<string, unknown>, `${where}[${i}]`);
  });
}

/** Checks a parsed manifest and returns it typed; the error names the bad field. */
export function validateManifest(value: unknown): DatasetManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('must be a JSON object');
  const v = value as Record<string, unknown>;
  if (v.version !== VERSION) throw new Error(`version must be ${VERSION}, got ${JSON.stringify(v.version)}`);
  const excluded = list(v.excluded, 'excluded', (e, at) => ({ file: checkRelative(e.file, `${at}.file`), reason: str(e.reason, `${at}.reason`), date: str(e.date, `${at}.date`) }));
  const moves = list(v.moves, 'moves', (m, at) => ({ from: checkRelative(m.from, `${at}.from`), to: checkRelative(m.to, `${at}.to`), date: str(m.date, `${at}.date`) }));
  const raw = v.thresholds ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('thresholds must be an object');
  resolveThresholds(raw as Record<string, unknown>);
  return { version: VERSION, excluded, moves, thresholds: raw as Partial<Thresholds> };
}

export async function readManifest(root: string): Promise<DatasetManifest> {
  const file = path.join(root, MANIFEST_NAME);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
    throw e;
  }
  try {
    return validateManifest(JSON.parse(text));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** Stable text: fixed key order, exclusions sorted by file, thresholds by name, 2-space indent, final newline. */
export function manifestText(m: DatasetManifest): string {
  const ordered = {
    version: m.version,
    excluded: [...m.excluded].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)).map((e) => ({ file: e.file, reason: e.reason, date: e.date })),
    moves: m.moves.map((r) => ({ from: r.from, to: r.to, date: r.date })),
    thresholds: Object.fromEntries(Object.entries(m.thresholds).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Writes next to the target and renames, so a reader never sees half a file. */
export async function writeManifest(root: string, m: DatasetManifest): Promise<void> {
  const file = path.join(root, MANIFEST_NAME);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, manifestText(validateManifest(m)), { flag: 'wx' });
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

// One read-modify-write at a time per folder, so two quick clicks lose nothing.
const queues = new Map<string, Promise<unknown>>();

export function updateManifest(root: string, change: (m: DatasetManifest) => void): Promise<DatasetManifest> {
  const key = path.resolve(root);
  const run = (queues.get(key) ?? Promise.resolve()).catch(() => undefined).then(async () => {
    const m = await readManifest(root);
    change(m);
    await writeManifest(root, m);
    return m;
  });
  queues.set(key, run);
  return run;
}

/** The files training must skip: dataset-relative paths with forward slashes. */
export async function excludedFiles(root: string): Promise<Set<string>> {
  return new Set((await readManifest(root)).excluded.map((e) => e.file));
}

export async function exclude(root: string, files: string[], reason: string, date = new Date()): Promise<DatasetManifest> {
  files.forEach((f, i) => checkRelative(f, `files[${i}]`));
  return updateManifest(root, (m) => {
    const have = new Set(m.excluded.map((e) => e.file));
    for (const file of files) if (!have.has(file)) m.excluded.push({ file, reason, date: date.toISOString() });
  });
}

export async function include(root: string, files: string[]): Promise<DatasetManifest> {
  const drop = new Set(files.map((f, i) => checkRelative(f, `files[${i}]`)));
  return updateManifest(root, (m) => {
    m.excluded = m.excluded.filter((e) => !drop.has(e.file));
  });
}
