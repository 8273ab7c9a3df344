// End to end in a real VS Code (code-server) with the packaged .vsix: on a copy
// of ../shared/datasets/horse2zebra-mini, right-click the folder → "Open
// Dataset View", filter by a kind, exclude an image, and find it recorded in
// domain-translator.dataset.json; no image changes. Screenshots: test-output/e2e/.
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { hashTree } from '../unit/scanFixture';
import { explorerCommand, SHARED, useCodeServer } from './codeServer';

const DATASET = 'horse2zebra-mini';

const e2e = useCodeServer('dataset-', (workspace) => {
  cpSync(path.join(SHARED, 'datasets', DATASET), path.join(workspace, DATASET), { recursive: true });
});
const shot = e2e.shot;

test('explorer → Open Dataset View → filter by a kind → exclude an image → the manifest records it', () => e2e.withPage(curate));

async function curate(url: string, page: Page): Promise<void> {
  const { workspace } = e2e;
  const dataset = path.join(workspace, DATASET);
  const before = await hashTree(dataset);
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
  await explorerCommand(page, DATASET, 'Open Dataset View', () => shot(page, '0-context-menu'));

  const panel: FrameLocator = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  await panel.locator('.chip[data-filter="grayscale"]').waitFor({ timeout: 180_000 });
  assert.match(await panel.locator('.title-row').textContent() ?? '', /trainA 400.*trainB 400.*testA 59.*testB 60/s);
  const grayChip = await panel.locator('.chip[data-filter="grayscale"]').textContent();
  assert.match(grayChip ?? '', /Grayscale\s*32/);
  await panel.locator('.column[data-domain="A"] .cell img').first().waitFor({ timeout: 60_000 });
  // Thumbnails are made by sharp in the server (160 px) and load under the webview's CSP.
  const loaded = async () => panel.locator('.cell img').evaluateAll((imgs) =>
    imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 160).length);
  for (let i = 0; i < 150 && (await loaded()) < 12; i++) await page.waitForTimeout(200);
  assert.ok((await loaded()) >= 12, `thumbnails loaded: ${await loaded()}`);
  await shot(page, '1-view');

  // Filter by a kind: only the gray images remain, in both domains.
  await panel.locator('.chip[data-filter="grayscale"]').click();
  await panel.locator('.column[data-domain="B"] .column-title', { hasText: '29 shown' }).waitFor();
  assert.match(await panel.locator('.column[data-domain="A"] .column-title').textContent() ?? '', /3 shown/);
  await panel.locator('.column[data-domain="A"] .cell img').first().waitFor({ timeout: 60_000 });
  await shot(page, '2-filtered');

  // Open the first gray horse and exclude it.
  const cell = panel.locator('.column[data-domain="A"] .cell').first();
  const file = await cell.getAttribute('data-file');
  assert.ok(file?.startsWith('trainA/'), `first gray image in A: ${file}`);
  await cell.click();
  await panel.locator('.preview:not([hidden]) .preview-image').waitFor();
  await shot(page, '3-preview');
  await panel.locator('.preview .exclude-toggle').click();
  await panel.locator('.chip[data-filter="excluded"]', { hasText: /Excluded\s*1/ }).waitFor({ timeout: 30_000 });
  await panel.locator('.preview-details', { hasText: 'excluded (grayscale' }).waitFor();
  await shot(page, '4-excluded');

  const manifest = JSON.parse(readFileSync(path.join(dataset, 'domain-translator.dataset.json'), 'utf8'));
  assert.equal(manifest.version, 1);
  assert.equal(manifest.excluded.length, 1);
  assert.equal(manifest.excluded[0].file, file);
  assert.match(manifest.excluded[0].reason, /grayscale/);
  assert.deepEqual(manifest.moves, []);
  const after = await hashTree(dataset);
  after.delete('domain-translator.dataset.json');
  assert.deepEqual(after, before, 'no image changed');
}
