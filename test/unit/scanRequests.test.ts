// The server's dataset requests, driven through a stand-in connection: they
// refuse roots and files outside the dataset, answer with typed results, and
// change no image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import { registerDatasetRequests } from '../../server/data/datasetRequests';
import { MANIFEST_NAME } from '../../server/data/manifest';
import { hashTree, makePlantedUnaligned } from './scanFixture';

type Handler = (params: unknown, token: { isCancellationRequested: boolean }) => Promise<unknown>;

function fakeConnection() {
  const handlers = new Map<string, Handler>();
  const progress: unknown[] = [];
  const connection = {
    onRequest: (type: { method: string }, handler: Handler) => { handlers.set(type.method, handler); },
    sendProgress: (_type: unknown, _token: unknown, value: unknown) => { progress.push(value); },
  } as unknown as Connection;
  registerDatasetRequests(connection);
  const call = (method: string, params: unknown) => handlers.get(`domainTranslator/${method}`)!(params, { isCancellationRequested: false });
  return { call, progress };
}

test('dataset requests: scan with progress, thumbnails, exclude; paths outside the dataset refused; images unchanged', async () => {
  const root = await makePlantedUnaligned();
  const before = await hashTree(root);
  const { call, progress } = fakeConnection();
  const listing = await call('datasetList', { root }) as { images: { file: string }[]; issues: unknown[]; splits: Record<string, number> };
  assert.equal(listing.images.length, 66);
  assert.deepEqual(listing.issues, []);
  assert.deepEqual(listing.splits, { trainA: 33, trainB: 20, testA: 7, testB: 6 });
  await assert.rejects(call('datasetList', { root: '.' }), /must be an absolute path/);
  const overview = await call('datasetScan', { root, workDoneToken: 't' }) as { images: unknown[]; issues: { kind: string }[]; stats: unknown[] };
  assert.equal(overview.images.length, 66);
  assert.ok(overview.issues.some((i) => i.kind === 'split_leak'));
  assert.equal(overview.stats.length, 2);
  assert.ok(progress.length > 0, 'progress reported');

  await assert.rejects(call('datasetScan', { root: 'relative/folder' }), /must be an absolute path/);
  await assert.rejects(call('datasetScan', { root: path.join(root, 'nope') }), /not a folder/);
  await assert.rejects(call('datasetExclude', { root, files: ['../outside.png'], reason: 'x' }), /inside the dataset folder/);
  await assert.rejects(call('datasetExclude', { root, files: ['/etc/passwd'], reason: 'x' }), /inside the dataset folder/);
  await assert.rejects(call('datasetMove', { root, files: ['trainA/../../x.png'], toSplit: 'testA' }), /inside the dataset folder/);
  await assert.rejects(call('datasetThumbnails', { root, files: ['trainA/a00.png'], size: 64, cacheDir: 'rel' }), /absolute path/);

  const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-thumbs-'));
  const thumbs = await call('datasetThumbnails', { root, files: ['trainA/a00.png', 'trainA/text.jpg'], size: 64, cacheDir }) as
    { items: { file: string; path?: string; error?: string }[] };
  assert.ok(thumbs.items[0]!.path!.startsWith(cacheDir));
  assert.match(thumbs.items[1]!.error!, /unsupported image format/);

  const excluded = await call('datasetExclude', { root, files: ['trainA/black.png'], reason: 'dark' }) as { excluded: { file: string }[] };
  assert.deepEqual(excluded.excluded.map((e) => e.file), ['trainA/black.png']);
  const after = await hashTree(root);
  after.delete(MANIFEST_NAME);
  assert.deepEqual(after, before);
});
