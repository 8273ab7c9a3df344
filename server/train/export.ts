// Export a run's generators from its latest complete checkpoint: official-format
// .pth files (latest_net_G_A.pth … as the official test.py loads them) and tfjs
// models (tfjs-G_A/model.json + group1-shard1of1.bin). The export folder is built
// in a temporary sibling and renamed into place, like a checkpoint.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { version } from '../../package.json';
import { writePth } from '../io/pth';
import { readRunGenerators } from '../models/runFolder';
import { writeTfjsModel } from '../models/tfjsModel';
import { replaceDir } from './checkpoint';

export type ExportFormat = 'pth' | 'tfjs';
export const EXPORT_FORMATS: ExportFormat[] = ['pth', 'tfjs'];

export interface ExportResult {
  dir: string;
  /** Step of the checkpoint exported. */
  step: number;
  /** Files written, relative to `dir`. */
  files: string[];
}

/** Folder name of a generator's tfjs model inside an export folder. */
export function tfjsFolder(network: string): string {
  return `tfjs-${network}`;
}

/**
 * Write the run's generators into `out` (default <run>/export, replaced
 * whole each time). A chosen `out` must not exist or be empty: exports never
 * overwrite other files.
 */
export async function exportRun(runDir: string, opts: { formats?: ExportFormat[]; out?: string } = {}): Promise<ExportResult> {
  const formats = opts.formats ?? EXPORT_FORMATS;
  const out = path.resolve(opts.out ?? path.join(runDir, 'export'));
  if (opts.out !== undefined) {
    const existing = await fs.readdir(out).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
    if (existing.length) throw new Error(`${out} already exists and is not empty; exports never overwrite files: choose a new folder`);
  }
  const gens = await readRunGenerators(runDir);
  const files: string[] = [];
  await replaceDir(out, async (tmp) => {
    for (const g of gens) {
      if (formats.includes('pth')) {
        const name = `latest_net_${g.network}.pth`;
        await writePth(path.join(tmp, name), g.sd);
        files.push(name);
      }
      if (formats.includes('tfjs')) {
        const folder = tfjsFolder(g.network);
        await writeTfjsModel(path.join(tmp, folder), g.sd, g.spec, { network: g.network, run: path.basename(path.resolve(runDir)), step: g.step }, `domain-translator ${version}`);
        files.push(`${folder}/model.json`, `${folder}/group1-shard1of1.bin`);
      }
    }
  });
  // Leftovers of an export killed half-way (replaceDir's temporary and previous folders).
  const base = path.basename(out);
  for (const name of await fs.readdir(path.dirname(out))) {
    if (name.startsWith(`.tmp-${base}-`) || name.startsWith(`.old-${base}-`)) await fs.rm(path.join(path.dirname(out), name), { recursive: true, force: true });
  }
  return { dir: out, step: gens[0].step, files };
}
