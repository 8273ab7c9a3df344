// The server side of training in VS Code, without VS Code: layout shown in the
// Start Training flow, the engine request built from the extension's
// parameters, and run folders read back as the panel and recovery see them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { engineRequest, layoutInfo } from '../../server/training/requests';
import { listRuns, readRunSnapshot } from '../../server/training/runFolder';

const SHARED = path.resolve(__dirname, '../../../shared');
const fixtures = path.resolve(__dirname, '../fixtures/training');
let ws: string;

before(() => {
  ws = mkdtempSync(path.join(os.tmpdir(), 'dt-runs-'));
});
after(() => rmSync(ws, { recursive: true, force: true }));

test('layout of the shared datasets, with the suggested model', async () => {
  const h2z = await layoutInfo(path.join(SHARED, 'datasets/horse2zebra-mini'));
  assert.equal(h2z.kind, 'unaligned');
  assert.equal(h2z.suggestedModel, 'cyclegan');
  assert.match(h2z.description, /^unaligned: .*trainA \d+, trainB \d+/);
  const facades = await layoutInfo(path.join(SHARED, 'datasets/facades'));
  assert.equal(facades.suggestedModel, 'pix2pix');
  await assert.rejects(layoutInfo(path.join(ws, 'missing')), /not a folder/);
});

test('engine requests: fresh, resume, from an edited options.json with a relative dataroot; relative run folders refused', async () => {
  const runDir = path.join(ws, '.domain-translator/runs/edited');
  mkdirSync(runDir, { recursive: true });
  const options = JSON.parse(readFileSync(path.join(fixtures, 'cyclegan-preview-options.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(runDir, 'options.json'), JSON.stringify({ ...options, dataroot: 'data/h2z', ngf: 16 }));

  const fresh = await engineRequest({ runDir, workspace: ws, resume: false, dataset: 'data/h2z', model: 'cyclegan', preset: 'preview', name: 'edited', iterations: 6, printEvery: 1 });
  assert.deepEqual({ ...fresh }, { run: runDir, workspace: ws, iterations: 6, print_every: 1, sample_every: undefined,
    dataroot: path.join(ws, 'data/h2z'), model: 'cyclegan', preset: 'preview', name: 'edited' });

  const resume = await engineRequest({ runDir, workspace: ws, resume: true });
  assert.equal(resume.resume, true);
  assert.equal(resume.iterations, undefined);

  const edited = await engineRequest({ runDir, workspace: ws, resume: false, fromOptionsFile: true, sampleEvery: 3 });
  assert.equal(edited.dataroot, path.join(ws, 'data/h2z'));
  assert.equal(edited.ngf, 16);
  assert.equal(edited.iterations, options.iterations);
  assert.equal(edited.sample_every, 3);
  assert.equal(edited.print_every, options.print_every);

  await assert.rejects(engineRequest({ runDir: 'runs/x', workspace: ws, resume: true }), /absolute/);
  await assert.rejects(engineRequest({ runDir: path.join(ws, 'nothing'), workspace: ws, resume: false, fromOptionsFile: true }), /options\.json is missing/);
});

test('run folders: a log line cut by a kill is skipped with a warning; a resumed run\'s repeated steps keep the latest', async () => {
  const runDir = path.join(ws, '.domain-translator/runs/killed');
  mkdirSync(runDir, { recursive: true });
  writeFileSync(path.join(runDir, 'options.json'), readFileSync(path.join(fixtures, 'cyclegan-preview-options.json')));
  const lines = readFileSync(path.join(fixtures, 'cyclegan-preview-log.jsonl'), 'utf8').trim().split('\n');
  const resumed = JSON.stringify({ ...JSON.parse(lines[1]!), lr: 0.5 });
  writeFileSync(path.join(runDir, 'log.jsonl'), [...lines.slice(0, 3), lines[3]!.slice(0, 40), resumed, ''].join('\n'));
  const snap = await readRunSnapshot(runDir);
  assert.deepEqual(snap.records.map((r) => r.step), [5, 10, 15]);
  assert.equal(snap.records[1]!.lr, 0.5);
  assert.deepEqual(snap.warnings, ['log.jsonl line 4: malformed JSON']);
  assert.equal(snap.checkpointStep, undefined);
  assert.equal(snap.name, 'cyclegan-preview');

  mkdirSync(path.join(ws, '.domain-translator/runs/empty-folder'));
  const runs = await listRuns(ws);
  assert.deepEqual(runs.map((r) => [path.basename(r.runDir), r.model, r.preset, r.checkpointStep, r.hasOptions]).sort(),
    [['edited', 'cyclegan', 'preview', undefined, true], ['killed', 'cyclegan', 'preview', undefined, true]]);
  await assert.rejects(readRunSnapshot(path.join(ws, 'nope')), /not a folder/);
});
