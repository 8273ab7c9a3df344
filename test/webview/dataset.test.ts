// The dataset view's built bundle (dist/webview/dataset.js) in headless
// Chromium under the production CSP, with a fake acquireVsCodeApi that records
// what the panel posts and answers thumbnail requests like the host would.
// Snapshots come from real scans of generated datasets with planted problems.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import type { DatasetImage, DatasetOverview } from '../../protocol/dataset';
import type { DatasetSnapshot } from '../../protocol/panels/dataset';
import { datasetListing, datasetOverview } from '../../server/data/datasetRequests';
import { thumbnail } from '../../server/data/thumbnails';
import { makePlantedPaired, makePlantedUnaligned } from '../unit/scanFixture';
import { launchChromium, type Browser } from './browser';
import { frame, openPanelPage, postSnapshot, recorded as recordedOf } from './panelPage';

const repo = path.resolve(__dirname, '../..');
const bundle = path.join(repo, 'dist/webview/dataset.js');
const screenshots = path.join(repo, 'test-output/webview');

let tmp: string;
let browser: Browser;
let unaligned: DatasetSnapshot;
let listing: DatasetSnapshot;
let paired: DatasetSnapshot;
let thumbs: Record<string, string>;

function snapshotOf(root: string, overview: DatasetOverview): DatasetSnapshot {
  return { name: path.basename(root), root, baseUri: pathToFileURL(root).href, overview };
}

before(async () => {
  assert.ok(existsSync(bundle), `${bundle} is missing: run npm run build first`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dt-dataset-view-'));
  const u = await makePlantedUnaligned(tmp);
  unaligned = snapshotOf(u, await datasetOverview(u));
  listing = { ...snapshotOf(u, await datasetListing(u)), scanning: { done: 0, total: 66 } };
  const p = await makePlantedPaired(tmp);
  paired = snapshotOf(p, await datasetOverview(p));
  // The host's answers to thumbnail requests: URLs of real thumbnails in the server's cache folder.
  thumbs = {};
  for (const snap of [unaligned, paired]) {
    for (const image of snap.overview!.images.filter((i) => i.width)) {
      const file = await thumbnail(path.join(snap.root, image.file), 160, path.join(tmp, 'thumbnail-cache'));
      thumbs[image.file] = pathToFileURL(file).href;
    }
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The panel as its host's HTML shows it; thumbnail requests are answered from the server-made thumbnails (text.jpg fails as in the server). */
const openPanel = (initialState?: unknown) =>
  openPanelPage(browser, tmp, bundle, {
    body: '<div id="app"></div>',
    initialState,
    prelude: `const thumbs = ${JSON.stringify(thumbs)};
  const all = Object.values(thumbs);
  const pick = (f) => thumbs[f] ?? all[[...f].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % all.length];`,
    onPost: `if (m.type === 'thumbnails') setTimeout(() => window.postMessage({ type: 'thumbnails',
        items: m.files.map((file) => file.endsWith('text.jpg') ? { file, error: 'Input buffer contains unsupported image format' } : { file, src: pick(file) }) }, '*'), 5);`,
  });
const recorded = (page: Page) => recordedOf<{ type: string; files?: string[]; reason?: string; toSplit?: string }>(page);
const post = (page: Page, s: DatasetSnapshot) => postSnapshot(page, s);
const cellFiles = (page: Page, domain: string) => page.$$eval(`.column[data-domain="${domain}"] .cell`, (cells) =>
  cells.map((c) => (c as HTMLElement).dataset.file!).sort());

test('unpaired view: both domains, summary per kind, filter, sort, preview, exclude → manifest request; state restored', async () => {
  const page = await openPanel();
  // While the checks run, the listing already fills the grids with thumbnails.
  await post(page, listing);
  await page.waitForSelector('.column[data-domain="B"] .cell img');
  assert.match((await page.textContent('.summary'))!, /All\s*66.*Checks running…/s);
  await page.evaluate(() => window.postMessage({ type: 'progress', done: 12, total: 66 }, '*'));
  await page.waitForFunction(() => document.querySelector('.status')?.textContent === 'Scanning… 12 / 66 images');
  assert.equal(await page.isVisible('vscode-progress-bar.progress'), true);
  await page.screenshot({ path: path.join(screenshots, 'dataset-scanning.png') });
  const askedWhileScanning = (await recorded(page)).posted.filter((m) => m.type === 'thumbnails').length;
  await post(page, unaligned);
  await page.waitForSelector('.chip[data-filter="dark"]');
  assert.equal(await page.isVisible('vscode-progress-bar.progress'), false);
  assert.equal((await recorded(page)).posted.filter((m) => m.type === 'thumbnails').length, askedWhileScanning, 'the scan result reuses the thumbnails');
  assert.match((await page.textContent('.title-row'))!, /Dataset: planted.*unpaired.*trainA 33.*trainB 20.*testA 7.*testB 6/s);
  // A chip for every planted kind, with the number of images.
  const chips = await page.$$eval('.chip', (cs) => cs.map((c) => `${c.querySelector('.chip-label')!.textContent} ${c.querySelector('.chip-count')!.textContent}`));
  for (const c of ['All 66', 'Corrupt 2', 'Unsupported 3', 'Exact duplicate 1', 'Near duplicate 1', 'Dark 1', 'Light 1', 'Grayscale', 'Odd size 1',
    'Odd aspect ratio 1', 'Split leak 1', 'Domain outlier', 'Excluded 0']) assert.ok(chips.some((x) => x.startsWith(c)), `no chip "${c}" in ${chips}`);
  assert.match((await page.textContent('.other-files'))!, /2 files are not images training reads: trainA\/layers\.psd, trainA\/vector\.svg/);
  assert.match((await page.textContent('.column[data-domain="B"] .column-title'))!, /Domain B · trainB 20 · testB 6 · 26 shown/);
  assert.match((await page.textContent('.column[data-domain="A"] .column-title'))!, /Domain A · trainA 33 · testA 7 · 40 shown/);
  // Thumbnails: asked for what is on screen, an unreadable file says why.
  const asked = (await recorded(page)).posted.filter((m) => m.type === 'thumbnails').flatMap((m) => m.files!);
  assert.ok(asked.includes('trainA/a00.png') && asked.length <= 66);
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, 'dataset-unpaired.png') });
  // Domain statistics: a colour histogram and a brightness plot per domain, sizes listed.
  await page.evaluate(() => { (document.querySelector('vscode-collapsible.stats') as HTMLElement & { open: boolean }).open = true; });
  await page.waitForSelector('vscode-collapsible.stats canvas[aria-label="colour histogram of domain B"]');
  assert.equal(await page.locator('vscode-collapsible.stats canvas').count(), 4);
  assert.match((await page.textContent('.stats-body'))!, /Domain A · 37 images.*256×256: 35.*Domain B · 26 images.*256×256: 26/s);
  await page.screenshot({ path: path.join(screenshots, 'dataset-statistics.png') });
  await page.evaluate(() => { (document.querySelector('vscode-collapsible.stats') as HTMLElement & { open: boolean }).open = false; });
  await page.click('.chip[data-filter="corrupt"]');
  await page.waitForSelector('.cell[data-file="trainA/text.jpg"] .thumb.broken');
  assert.match((await page.textContent('.cell[data-file="trainA/text.jpg"] .thumb'))!, /unsupported image format/);

  // Filter by a kind: only those images, in the right column.
  await page.click('.chip[data-filter="dark"]');
  await frame(page);
  assert.deepEqual(await cellFiles(page, 'A'), ['trainA/black.png']);
  assert.deepEqual(await cellFiles(page, 'B'), []);
  assert.equal(await page.getAttribute('.chip[data-filter="dark"]', 'aria-pressed'), 'true');
  await page.click('.chip[data-filter="split_leak"]');
  await frame(page);
  assert.deepEqual(await cellFiles(page, 'A'), ['testA/leak_of_a05.jpg']);

  // Sort by brightness: the black image first in A, the white one last.
  await page.click('.chip[data-filter="all"]');
  await page.evaluate(() => {
    const s = document.querySelector('.controls vscode-single-select') as HTMLElement & { value: string };
    s.value = 'brightness';
    s.dispatchEvent(new Event('change'));
  });
  await frame(page);
  const firstA = await page.$eval('.column[data-domain="A"] .cell[data-index="0"]', (c) => (c as HTMLElement).dataset.file);
  assert.equal(firstA, 'trainA/black.png');

  // Click → large preview with metadata and the issues; exclude goes to the host.
  await page.click('.cell[data-file="trainA/black.png"]');
  assert.ok(await page.isVisible('.preview'));
  const details = (await page.textContent('.preview-details'))!;
  for (const t of ['trainA/black.png', 'trainA (domain A)', '256×256 px', 'png', 'Dark:', 'included']) assert.ok(details.includes(t), `preview lacks "${t}": ${details}`);
  await page.waitForFunction(() => document.querySelector<HTMLImageElement>('.preview-image')?.naturalWidth === 256);
  await page.screenshot({ path: path.join(screenshots, 'dataset-preview.png') });
  await page.click('.preview .exclude-toggle');
  const exclude = (await recorded(page)).posted.at(-1)!;
  assert.equal(exclude.type, 'exclude');
  assert.deepEqual(exclude.files, ['trainA/black.png']);
  assert.match(exclude.reason!, /dark/);
  // The host answers with a new complete snapshot: excluded shows everywhere.
  const excluded = { ...unaligned, overview: { ...unaligned.overview!, excluded: [{ file: 'trainA/black.png', reason: exclude.reason!, date: '2026-01-01T00:00:00.000Z' }] } };
  await post(page, excluded);
  await frame(page);
  assert.match((await page.textContent('.preview-details'))!, /excluded \(dark/);
  assert.match((await page.textContent('.chip[data-filter="excluded"]'))!, /Excluded\s*1/);
  // Move: asks the host (which confirms with the user).
  await page.evaluate(() => {
    const s = document.querySelector('.preview .move-select') as HTMLElement & { value: string };
    s.value = 'testA';
    s.dispatchEvent(new Event('change'));
  });
  assert.deepEqual((await recorded(page)).posted.at(-1), { type: 'move', files: ['trainA/black.png'], toSplit: 'testA' });
  await page.keyboard.press('ArrowRight');
  assert.notEqual(await page.textContent('.preview-title'), 'trainA/black.png');
  await page.keyboard.press('Escape');
  assert.equal(await page.isVisible('.preview'), false);
  assert.ok(await page.$eval('.cell[data-file="trainA/black.png"]', (c) => c.classList.contains('excluded')));

  // A reloaded webview (hidden panels are discarded) comes back with its filter, sort and preview.
  await page.click('.chip[data-filter="near_duplicate"]');
  await page.click('.cell[data-file="trainA/recompressed_a04.jpg"]');
  const { state, violations } = await recorded(page);
  assert.deepEqual(violations, [], 'CSP violations');
  await page.close();
  const again = await openPanel(state);
  await post(again, excluded);
  await frame(again);
  assert.equal(await again.getAttribute('.chip[data-filter="near_duplicate"]', 'aria-pressed'), 'true');
  assert.equal(await again.textContent('.preview-title'), 'trainA/recompressed_a04.jpg');
  assert.match((await again.textContent('.preview-details'))!, /Near duplicate:.*show trainA\/a04\.png/s);
  await again.click('.preview .other');
  assert.equal(await again.textContent('.preview-title'), 'trainA/a04.png');
  assert.deepEqual((await recorded(again)).violations, [], 'CSP violations');
  await again.close();
});

test('10,000 images stay virtualised: few cells in the DOM, thumbnails asked only for what is shown', async () => {
  const base = unaligned.overview!.images.filter((i) => i.width);
  const images: DatasetImage[] = Array.from({ length: 10_000 }, (_, i) => {
    const src = base[i % base.length]!;
    const domain = i % 2 ? 'B' : 'A';
    return { ...src, domain, split: `train${domain}`, file: `train${domain}/img_${String(i).padStart(5, '0')}.jpg` };
  });
  const big: DatasetSnapshot = { ...unaligned, overview: { ...unaligned.overview!, images, issues: [], excluded: [],
    splits: { trainA: 5000, trainB: 5000 } } };
  const page = await openPanel();
  await post(page, big);
  await page.waitForSelector('.column[data-domain="A"] .cell img');
  const cells = await page.locator('.cell').count();
  assert.ok(cells > 0 && cells < 300, `${cells} cells in the DOM for 10,000 images`);
  await page.evaluate(() => { const g = document.querySelector('.column[data-domain="B"] .thumb-grid')!; g.scrollTop = g.scrollHeight; });
  await frame(page);
  await page.waitForSelector('.cell[data-file="trainB/img_09999.jpg"] img');
  const box = await page.locator('.cell[data-file="trainB/img_09999.jpg"]').boundingBox();
  assert.ok(box && box.y + box.height <= 800, `last image not in view: ${JSON.stringify(box)}`);
  assert.ok(await page.locator('.cell').count() < 300);
  const asked = new Set((await recorded(page)).posted.filter((m) => m.type === 'thumbnails').flatMap((m) => m.files!));
  assert.ok(asked.size < 600, `${asked.size} thumbnails asked for`);
  await page.screenshot({ path: path.join(screenshots, 'dataset-10000.png') });
  assert.deepEqual((await recorded(page)).violations, []);
  await page.close();
});

test('paired view: A | B rows, missing and mismatched highlighted, overlay and blink compare', async () => {
  const page = await openPanel();
  await post(page, paired);
  await page.waitForSelector('.pair-row img');
  assert.match((await page.textContent('.column-title'))!, /A \| B pairs · 13 shown · 1 missing · 1 size mismatch/);
  assert.match((await page.textContent('.pair-row.problem-mismatch'))!, /p03.*size mismatch: 256×256 \| 128×128/s);
  // Filter by kind works on pairs too; the row without a partner is highlighted.
  await page.click('.chip[data-filter="missing_pair"]');
  await frame(page);
  assert.equal(await page.locator('.pair-row').count(), 1);
  assert.match((await page.textContent('.pair-row.problem-missing'))!, /p12.*missing B/s);
  assert.equal(await page.locator('.pair-row.problem-missing .thumb.missing').count(), 1);
  await page.click('.chip[data-filter="all"]');
  await frame(page);
  await page.screenshot({ path: path.join(screenshots, 'dataset-paired.png') });
  await page.click('.pair-row[data-index="0"]');
  assert.equal(await page.textContent('.preview-title'), 'p00  (A | B)');
  assert.equal(await page.locator('.preview-details').count(), 2);
  assert.equal(await page.locator('.preview .move-select').count(), 0, 'no moving between A/ and B/: it would break pairs');
  await page.click('.compare-modes vscode-button[data-mode="overlay"]');
  assert.equal(await page.getAttribute('.compare-stage', 'data-mode'), 'overlay');
  assert.equal(await page.$eval('.layer-B', (b) => (b as HTMLElement).style.opacity), '0.5');
  await page.screenshot({ path: path.join(screenshots, 'dataset-pair-overlay.png') });
  await page.click('.compare-modes vscode-button[data-mode="blink"]');
  await page.waitForFunction(() => (document.querySelector('.layer-B') as HTMLElement).style.opacity === '0');
  await page.waitForFunction(() => (document.querySelector('.layer-B') as HTMLElement).style.opacity === '1');
  assert.deepEqual((await recorded(page)).violations, []);
  await page.close();
});

// A stand-in for the variables VS Code injects into every webview (Dark Modern).
