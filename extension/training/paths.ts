// Paths of training runs, and the check every path a webview sends back goes
// through: it must resolve (symlinks followed) to a file inside the allowed
// folder. No vscode import, so it is unit-tested directly.
import { realpathSync } from 'node:fs';
import * as path from 'node:path';

export const RUNS_DIR = path.join('.domain-translator', 'runs');

export function runsDir(workspace: string): string {
  return path.join(workspace, RUNS_DIR);
}

/** True when `child` is `parent` or below it (lexically; both absolute). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The real path of `candidate` when it is an absolute path to an existing
 * entry whose real location is inside `root`'s real location; otherwise
 * undefined. Relative paths, '..' tricks and symlinks out of the folder are refused.
 */
export function resolveInside(root: string, candidate: unknown): string | undefined {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.includes('\0') || !path.isAbsolute(candidate)) return undefined;
  if (!isInside(root, candidate)) return undefined;
  try {
    const real = realpathSync(candidate);
    return isInside(realpathSync(root), real) ? real : undefined;
  } catch {
    return undefined;
  }
}

/** A run folder name from free text: letters, digits, '.', '_' and '-' only. */
export function sanitizeRunName(name: string): string {
  return name.trim().replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 100);
}

/** `<dataset>-<model>-<preset>-<yyyymmdd-hhmm>` in local time. */
export function defaultRunName(dataset: string, model: string, preset: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}`;
  return sanitizeRunName(`${path.basename(dataset)}-${model}-${preset}-${date}`);
}
