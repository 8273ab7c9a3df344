// The training panel's built bundle (dist/webview/training.js) in headless
// Chromium under the production CSP, fed the snapshot the server reads from a
// run folder: the log of a real 30-step CycleGAN run, and sample strips built
// from horse2zebra images — a healthy one at step 10 and a collapsed one
// (the same output for every probe) at step 30, which the panel must flag.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import type { TrainingPanelSnapshot } from '../../protocol/panels/training';
import { readRunSnapshot } from '../../server/training/runFolder';
import { launchChromium, type Browser } from './browser';
import { openPanelPage, postSnapshot, recorded as recordedOf } from './panelPage';

const root = path.resolve(__dirname, '../..');
const bundle = path.join(root, 'dist/webview/training.js');
const screenshots = path.join(root, 'test-output/webview');
const fixtures = path.join(root, 'test/fixtures/training');
const H2Z = path.resolve(root, '../shared/datasets/horse2zebra-mini');
const CELL = 64;

let tmp: string;
let runDir: string;
let browser: Browser;
let snapshot: TrainingPanelSnapshot;

async function cell(file: string, tint?: string): Promise<Buffer> {
  let img = sharp(file).resize(CELL, CELL, { fit: 'cover' });
  if (tint) img = img.tint(tint);
  return img.removeAlpha().raw().toBuffer();
}

/** A strip as the engine writes it: rows A0, B0, A1, B1; columns x | G(x) | F(G(x)). `collapsed`: every G(x) is the same image. */
async function writeStrip(file: string, collapsed: boolean): Promise<void> {
  const a = readdirSync(path.join(H2Z, 'trainA')).sort().slice(0, 2).map((f) => path.join(H2Z, 'trainA', f));
  const b = readdirSync(path.join(H2Z, 'trainB')).sort().slice(0, 2).map((f) => path.join(H2Z, 'trainB', f));
  const gray = Buffer.alloc(CELL * CELL * 3, 128);
  const rows = [[a[0]!, 'A'], [b[0]!, 'B'], [a[1]!, 'A'], [b[1]!, 'B']] as const;
  const composites = [];
  for (const [r, [src, side]] of rows.entries()) {
    const x = await cell(src);
    const g = collapsed ? gray : await cell(src, side === 'A' ? '#e0e0ff' : '#ffe0c0');
    const f = await cell(src, '#f0f0f0');
    for (const [c, buf] of [x, g, f].entries()) composites.push({ input: buf, raw: { width: CELL, height: CELL, channels: 3 as const }, left: c * CELL, top: r * CELL });
  }
  await sharp({ create: { width: 3 * CELL, height: 4 * CELL, channels: 3, background: '#000' } }).composite(composites).png().toFile(file);
}

before(async () => {
  assert.ok(existsSync(bundle), `${bundle} is missing: run npm run build first`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dt-training-panel-'));
  runDir = path.join(tmp, 'ws/.domain-translator/runs/horse2zebra-mini-cyclegan-preview');
  mkdirSync(path.join(runDir, 'samples'), { recursive: true });
  const options = JSON.parse(readFileSync(path.join(fixtures, 'cyclegan-preview-options.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(runDir, 'options.json'), JSON.stringify({ ...options, dataroot: H2Z }, null, 2));
  copyFileSync(path.join(fixtures, 'cyclegan-preview-log.jsonl'), path.join(runDir, 'log.jsonl'));
  await writeStrip(path.join(runDir, 'samples/step-0000010.png'), false);
  await writeStrip(path.join(runDir, 'samples/step-0000030.png'), true);

  const snap = await readRunSnapshot(runDir);
  snapshot = {
    runDir, name: snap.name, model: 'cyclegan', options: snap.options, records: snap.records, diversity: snap.diversity,
    checkpointStep: snap.checkpointStep, warnings: snap.warnings,
    samples: snap.samples.map((s) => ({ ...s, uri: pathToFileURL(s.file).href })),
    status: {
      runDir, name: snap.name, model: 'cyclegan', state: 'running', step: 30, total: 1000, epoch: 1,
      iterationsPerSecond: 1 / 11.22, etaSeconds: 970 * 11.22, losses: snap.records.at(-1)!.losses, backend: 'tensorflow',
    },
  };
  browser = await launchChromium({ width: 1280, height: 1000 });
});

after(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The panel as its host's HTML shows it (same CSP, file: standing in for the webview source). */
const openPanel = (initialState?: unknown) => openPanelPage(browser, tmp, bundle, { body: '<div id="app"></div>', initialState });
const recorded = (page: Page) => recordedOf<{ type: string; path?: string }>(page);
const post = (page: Page, s: TrainingPanelSnapshot) => postSnapshot(page, s);

test('the server reads the run folder: real log records, both strips, diversity falling to 0 at the collapsed strip', () => {
  assert.deepEqual(snapshot.records.map((r) => r.step), [5, 10, 15, 20, 25, 30]);
  assert.deepEqual(snapshot.samples.map((s) => [s.step, s.rows, s.columns]), [[10, 4, 3], [30, 4, 3]]);
  const [healthy, collapsed] = snapshot.diversity;
  assert.ok(healthy!.ratio.AtoB! > 0.5 && healthy!.ratio.BtoA! > 0.5, JSON.stringify(healthy));
  assert.equal(collapsed!.ratio.AtoB, 0);
  assert.equal(collapsed!.ratio.BtoA, 0);
});

test('curves per loss group, collapse warning, samples over steps, options, and state restore', async () => {
  const page = await openPanel();
  await post(page, snapshot);
  await page.waitForSelector('.chart canvas');

  // Header: state, progress, ETA, backend, Stop while running.
  assert.equal(await page.textContent('vscode-badge.state'), 'running');
  const progress = await page.textContent('.progress');
  assert.match(progress ?? '', /step 30\/1000 · epoch 1 · 0\.09 it\/s · ETA 3h 01m · backend tensorflow/);
  assert.equal(await page.locator('.actions vscode-button', { hasText: 'Stop' }).count(), 1);

  // One chart per official loss group plus output diversity, each with a drawn canvas and the names in its legend.
  const captions = await page.locator('.chart figcaption').allTextContents();
  assert.deepEqual(captions, ['Discriminators (D_A, D_B)', 'Generators, adversarial (G_A, G_B)', 'Cycle consistency (cycle_A, cycle_B)',
    'Identity (idt_A, idt_B)', 'Output diversity (generated / input differences, probe images)']);
  assert.equal(await page.locator('.chart canvas').count(), 5);
  const legend = (await page.locator('.chart').first().locator('.u-legend').textContent()) ?? '';
  assert.ok(legend.includes('D_A') && legend.includes('D_B'), legend);

  // The collapsed strip is flagged, naming the generator and the measurement.
  const warnings = await page.locator('.finding[data-level="warning"]').allTextContents();
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0]!, /Possible mode collapse: G_A's outputs for the two probe images differ only 0% as much as the inputs do at step 30 \(\d+% at step 10\)/);
  assert.match(warnings[1]!, /G_B/);

  // Samples: latest strip by default, with its headings; the slider goes back to step 10.
  assert.equal(await page.textContent('.step-value'), 'step 30');
  assert.deepEqual(await page.locator('.strip-col').allTextContents(), ['x (real)', 'G(x)', 'F(G(x)) (reconstruction)']);
  await page.waitForFunction(() => { const i = document.querySelector<HTMLImageElement>('.strip-img'); return i?.complete && i.naturalWidth === 192; });
  await page.locator('#sample-step').fill('0');
  assert.equal(await page.textContent('.step-value'), 'step 10');
  assert.ok((await page.getAttribute('.strip-img', 'src'))!.endsWith('step-0000010.png'));
  await page.waitForFunction(() => { const i = document.querySelector<HTMLImageElement>('.strip-img'); return i?.complete && i.naturalWidth === 192; });

  // Smoothing changes the plotted values (state saved), and options are listed.
  await page.locator('#smoothing').fill('0');
  const options = await page.locator('.options-table').textContent();
  assert.ok(options?.includes('resnet_6blocks') && options.includes('crop_size64'), options ?? '');
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, 'training.png'), fullPage: true });

  // Clicking the strip asks the host to open that file (the host checks it is inside the run folder).
  await page.click('.strip-img');
  await page.locator('.actions vscode-button', { hasText: 'options.json' }).click();
  const rec = await recorded(page);
  assert.deepEqual(rec.posted.slice(1), [
    { type: 'openFile', path: path.join(runDir, 'samples/step-0000010.png') },
    { type: 'openFile', path: `${runDir}/options.json` },
  ]);
  assert.deepEqual(rec.state, { runDir, smoothing: 0, sampleStep: 10 });
  assert.deepEqual(rec.violations, []);

  // A new snapshot (the panel is hidden and shown again) keeps the chosen step and smoothing.
  const again = await openPanel(rec.state);
  await post(again, { ...snapshot, status: { ...snapshot.status!, state: 'stopped', message: 'stopped at step 30; checkpoint kept' }, checkpointStep: 30 });
  await again.waitForSelector('.chart canvas');
  assert.equal(await again.textContent('.step-value'), 'step 10');
  assert.equal(await again.inputValue('#smoothing'), '0');
  assert.equal(await again.locator('.actions vscode-button', { hasText: 'Resume' }).count(), 1);
  assert.match(await again.textContent('.message') ?? '', /checkpoint kept/);
  await again.close();
  await page.close();
});
