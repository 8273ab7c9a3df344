// The comparison panel's built bundle (dist/webview/compare.js) in headless
// Chromium, under the production CSP, with a fake acquireVsCodeApi that
// records what the panel posts and keeps its state.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import type { CompareSnapshot } from '../../protocol/panels/compare';
import { launchChromium, type Browser } from './browser';
import { frame, openPanelPage, postSnapshot, recorded as recordedOf } from './panelPage';

const root = path.resolve(__dirname, '../..');
const bundle = path.join(root, 'dist/webview/compare.js');
const screenshots = path.join(root, 'test-output/webview');
const PAIRS = 5000;
const DISTINCT = 24;

let tmp: string;
let browser: Browser;
let snapshot: CompareSnapshot;

before(async () => {
  assert.ok(existsSync(bundle), `${bundle} is missing: run npm run build first`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dt-compare-'));
  // A few distinct small PNGs, reused cyclically by the 5,000 pairs.
  for (let i = 0; i < DISTINCT; i++) {
    const hue = Math.round((360 * i) / DISTINCT);
    const svg = (invert: boolean) => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">` +
      `<rect width="64" height="64" fill="hsl(${invert ? (hue + 180) % 360 : hue},70%,50%)"/>` +
      `<circle cx="${16 + i}" cy="32" r="12" fill="${invert ? 'black' : 'white'}"/></svg>`);
    await sharp(svg(false)).png().toFile(path.join(tmp, `in${i}.png`));
    await sharp(svg(true)).png().toFile(path.join(tmp, `out${i}.png`));
  }
  const url = (f: string) => pathToFileURL(path.join(tmp, f)).href;
  snapshot = {
    title: 'testA → Domain B',
    model: 'resnet_6blocks, ngf 32, instance norm · resnet_6blocks_ngf32.pth',
    backend: 'tensorflow',
    outDir: '/work/data/testA-to-B',
    pairs: Array.from({ length: PAIRS }, (_, i) => ({
      name: `img_${String(i).padStart(4, '0')}.png`, input: url(`in${i % DISTINCT}.png`), output: url(`out${i % DISTINCT}.png`),
      width: 64, height: 64,
    })),
    unreadable: [{ name: 'broken.jpg', reason: 'not a valid JPEG: unexpected end of file' },
      { name: 'empty.png', reason: 'empty file' }],
    nonImages: 3,
    cancelled: false,
    seconds: 125.04,
    imagesPerSecond: 39.98,
  };
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The panel as its host's HTML shows it (same CSP, file: standing in for the webview source). */
const openPanel = (initialState?: unknown) => openPanelPage(browser, tmp, bundle, { body: '<header id="header"></header><div id="empty" hidden>No image was translated.</div><main id="grid"></main>', initialState });
const recorded = (page: Page) => recordedOf<{ type: string }>(page);
const post = (page: Page, s: CompareSnapshot) => postSnapshot(page, s);

test('renders 5,000 pairs virtualised, enlarges, reveals, and restores its state', async () => {
  const page = await openPanel();
  assert.deepEqual((await recorded(page)).posted, [{ type: 'ready' }]);
  await post(page, snapshot);
  await page.waitForSelector('.pair');

  // Header: counts, model, backend, speed, output folder, unreadable reasons.
  assert.equal(await page.textContent('vscode-badge[data-kind="translated"]'), '5000 translated');
  assert.equal(await page.textContent('vscode-badge[data-kind="unreadable"]'), '2 unreadable');
  assert.equal(await page.textContent('vscode-badge[data-kind="non-images"]'), '3 non-images skipped');
  const header = await page.textContent('#header');
  for (const text of ['resnet_6blocks', 'tensorflow', '40.0 images/s', '/work/data/testA-to-B', 'not a valid JPEG: unexpected end of file']) {
    assert.ok(header?.includes(text), `header lacks "${text}": ${header}`);
  }

  // Virtualised: only the visible rows (plus overscan) are in the DOM.
  const rendered = await page.locator('.pair').count();
  assert.ok(rendered > 0 && rendered < 100, `${rendered} pair elements rendered for ${PAIRS} pairs`);
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.pair img')].slice(0, 4).every((i) => i.complete && i.naturalWidth === 64));
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, 'compare-top.png') });

  // Scrolling to the end shows the last pair, still with few elements.
  await page.evaluate(() => { const g = document.getElementById('grid')!; g.scrollTop = g.scrollHeight; });
  await frame(page);
  const last = page.locator('.pair[data-index="4999"]');
  assert.equal(await last.locator('.name').textContent(), 'img_4999.png');
  const box = await last.boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= 800, `last pair not in view: ${JSON.stringify(box)}`);
  assert.ok(await page.locator('.pair').count() < 100);
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('.pair[data-index="4999"] img');
    return img?.complete && img.naturalWidth === 64;
  });
  await page.screenshot({ path: path.join(screenshots, 'compare-end.png') });

  // Click enlarges; arrows move; Esc closes.
  await last.click();
  assert.ok(await page.isVisible('.lightbox'));
  assert.equal(await page.textContent('.lightbox-title'), 'img_4999.png');
  assert.equal(await page.textContent('.lightbox-position'), '5000 / 5000 · 64×64');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.textContent('.lightbox-title'), 'img_4998.png');
  await page.waitForFunction(() => document.querySelector<HTMLImageElement>('.lightbox img')?.naturalWidth === 64);
  await page.screenshot({ path: path.join(screenshots, 'compare-lightbox.png') });
  await page.click('vscode-button[data-action="open-output"]');
  await page.keyboard.press('Escape');
  assert.equal(await page.isVisible('.lightbox'), false);

  // Reveal in Explorer goes to the host.
  await page.click('vscode-button[data-action="reveal"]');
  const posted = (await recorded(page)).posted;
  assert.deepEqual(posted.slice(1), [{ type: 'openImage', index: 4998, side: 'output' }, { type: 'revealOutput' }]);

  // State: the same snapshot re-posted keeps the scroll position and the enlarged pair…
  await page.evaluate(() => { document.getElementById('grid')!.scrollTop = 50_000; });
  await frame(page);
  const openIndex = await page.evaluate(() => {
    const view = document.getElementById('grid')!.getBoundingClientRect();
    const visible = [...document.querySelectorAll<HTMLElement>('.pair')].filter((c) => {
      const r = c.getBoundingClientRect();
      return r.top >= view.top && r.bottom <= view.bottom;
    });
    return Number(visible[visible.length - 1]!.dataset.index);
  });
  await page.click(`.pair[data-index="${openIndex}"]`);
  assert.equal(await page.evaluate(() => document.getElementById('grid')!.scrollTop), 50_000);
  await post(page, snapshot);
  await frame(page);
  assert.equal(await page.evaluate(() => document.getElementById('grid')!.scrollTop), 50_000);
  assert.equal(await page.textContent('.lightbox-title'), snapshot.pairs[openIndex]!.name);

  // …and so does a reloaded webview (hidden panels are discarded) given its saved state.
  const { state, violations } = await recorded(page);
  assert.deepEqual(violations, [], 'CSP violations');
  await page.close();
  const again = await openPanel(state);
  await post(again, snapshot);
  await frame(again);
  assert.equal(await again.evaluate(() => document.getElementById('grid')!.scrollTop), 50_000);
  assert.ok(await again.isVisible('.lightbox'));
  assert.equal(await again.textContent('.lightbox-title'), snapshot.pairs[openIndex]!.name);

  // A different run starts at the top with nothing enlarged.
  await post(again, { ...snapshot, outDir: '/work/data/other-to-B', pairs: snapshot.pairs.slice(0, 10), unreadable: [] });
  await frame(again);
  assert.equal(await again.evaluate(() => document.getElementById('grid')!.scrollTop), 0);
  assert.equal(await again.isVisible('.lightbox'), false);
  assert.equal(await again.locator('.pair').count(), 10);
  assert.equal(await again.locator('vscode-badge[data-kind="unreadable"]').count(), 0);
  assert.deepEqual((await recorded(again)).violations, [], 'CSP violations');
});

// A stand-in for the variables VS Code injects into every webview (Dark Modern).

test('a run where nothing could be read says so and lists every reason', async () => {
  const page = await openPanel();
  await post(page, { ...snapshot, outDir: '/work/data/broken-to-B', pairs: [], nonImages: 0, imagesPerSecond: 0 });
  await page.waitForSelector('#empty:not([hidden])');
  assert.equal(await page.textContent('#empty'), 'No image was translated.');
  assert.equal(await page.locator('.pair').count(), 0);
  assert.equal(await page.textContent('vscode-badge[data-kind="translated"]'), '0 translated');
  assert.equal(await page.locator('vscode-badge[data-kind="non-images"]').count(), 0);
  // With nothing to compare, the unreadable list starts open.
  assert.equal(await page.evaluate(() => document.querySelector('vscode-collapsible')!.open), true);
  assert.deepEqual(await page.locator('.unreadable-list li').allTextContents(),
    ['broken.jpg — not a valid JPEG: unexpected end of file', 'empty.png — empty file']);
  assert.ok(await page.isVisible('.unreadable-list'));
  assert.deepEqual((await recorded(page)).violations, []);
  await page.close();
});
