// The server's dataset-curation requests: scan with progress and cancellation,
// thumbnails, and the manifest and move actions. Every root must be an
// absolute folder; every file a path inside it (checked by the manifest module).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { WorkDoneProgress, type Connection } from 'vscode-languageserver/node';
import {
  DatasetCombineRequest, DatasetExcludeRequest, DatasetIncludeRequest, DatasetListRequest, DatasetMoveRequest, DatasetScanRequest,
  DatasetTestSplitRequest, DatasetThumbnailsRequest, DatasetUndoMoveRequest, type DatasetOverview,
} from '../../protocol/dataset';
import { domainOf, relativeFile, scanDataset } from './checks/scanDataset';
import { detectLayout } from './layout';
import { combineAB, createTestSplit, moveFiles, undoMove } from './curation';
import { checkRelative, exclude, include, readManifest } from './manifest';
import { domainStatistics } from './stats';
import { thumbnail } from './thumbnails';

async function checkRoot(root: string): Promise<string> {
  if (typeof root !== 'string' || !path.isAbsolute(root)) throw new Error(`dataset folder must be an absolute path, got ${JSON.stringify(root)}`);
  const st = await fs.stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`${root}: not a folder`);
  return root;
}

function checkFiles(files: string[]): string[] {
  if (!Array.isArray(files)) throw new Error('files must be a list');
  return files.map((f, i) => checkRelative(f, `files[${i}]`));
}

export async function datasetOverview(root: string, onProgress?: (done: number, total: number) => void, isCancelled?: () => boolean): Promise<DatasetOverview> {
  const started = performance.now();
  const manifest = await readManifest(root);
  const scan = await scanDataset(root, { thresholds: manifest.thresholds, onProgress, isCancelled });
  return {
    root,
    layout: scan.layout,
    splits: scan.splits,
    images: scan.images.map((i) => ({
      file: i.file, split: i.split, domain: i.domain,
      ...(i.features && { width: i.features.width, height: i.features.height, bytes: i.features.bytes, format: i.features.format,
        brightness: Math.round(i.features.brightness * 1000) / 1000 }),
    })),
    issues: scan.issues,
    stats: domainStatistics(scan),
    excluded: manifest.excluded,
    moves: manifest.moves,
    cancelled: scan.cancelled,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The layout's image files and the manifest, without decoding anything: what the view shows while the scan runs. */
export async function datasetListing(root: string): Promise<DatasetOverview> {
  const started = performance.now();
  const [layout, manifest] = await Promise.all([detectLayout(root), readManifest(root)]);
  return {
    root,
    layout: layout.kind,
    splits: Object.fromEntries(layout.splits.map((s) => [s.name, s.files.length])),
    images: layout.splits.flatMap((s) => s.files.map((f) => ({ file: relativeFile(root, s.dir, f), split: s.name, domain: domainOf(layout.kind, s.name) }))),
    issues: [],
    stats: [],
    excluded: manifest.excluded,
    moves: manifest.moves,
    cancelled: false,
    seconds: (performance.now() - started) / 1000,
  };
}

export function registerDatasetRequests(connection: Connection): void {
  connection.onRequest(DatasetListRequest, async ({ root }) => datasetListing(await checkRoot(root)));

  connection.onRequest(DatasetScanRequest, async (params, token) => {
    const root = await checkRoot(params.root);
    const progress = params.workDoneToken;
    let last = 0;
    return datasetOverview(root, (done, total) => {
      if (progress === undefined || (done !== total && performance.now() - last < 200)) return;
      last = performance.now();
      connection.sendProgress(WorkDoneProgress.type, progress, { kind: 'report', message: `${done}/${total} images`, percentage: Math.floor((100 * done) / total) });
    }, () => token.isCancellationRequested);
  });

  connection.onRequest(DatasetThumbnailsRequest, async ({ root, files, size, cacheDir }) => {
    await checkRoot(root);
    if (typeof cacheDir !== 'string' || !path.isAbsolute(cacheDir)) throw new Error('thumbnail cache folder must be an absolute path');
    const side = Math.min(512, Math.max(16, Math.round(size)));
    // A screenful at a time; sharp's own thread pool bounds the parallel work.
    const items = await Promise.all(checkFiles(files).map(async (file) => {
      try {
        return { file, path: await thumbnail(path.join(root, file), side, cacheDir) };
      } catch (e) {
        return { file, error: (e as Error).message.split('\n')[0] };
      }
    }));
    return { items };
  });

  connection.onRequest(DatasetExcludeRequest, async ({ root, files, reason }) =>
    ({ excluded: (await exclude(await checkRoot(root), checkFiles(files), String(reason))).excluded }));
  connection.onRequest(DatasetIncludeRequest, async ({ root, files }) =>
    ({ excluded: (await include(await checkRoot(root), checkFiles(files))).excluded }));
  connection.onRequest(DatasetMoveRequest, async ({ root, files, toSplit }) =>
    ({ moves: await moveFiles(await checkRoot(root), checkFiles(files), toSplit) }));
  connection.onRequest(DatasetUndoMoveRequest, async ({ root }) => undoMove(await checkRoot(root)));
  connection.onRequest(DatasetCombineRequest, async ({ root }) => {
    const r = await combineAB(await checkRoot(root));
    return { outDir: r.outDir, written: r.written.length, skipped: r.skipped };
  });
  connection.onRequest(DatasetTestSplitRequest, async ({ root, fraction }) =>
    ({ moves: await createTestSplit(await checkRoot(root), fraction) }));
}
