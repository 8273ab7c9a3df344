// End to end in a real VS Code (code-server) with the packaged .vsix: right-click
// a folder → "Translate to Domain B" → pick the workspace's .pth → wait for the
// summary; check the PNGs on disk, the untouched input folder, and the
// comparison panel inside its webview. Screenshots go to test-output/e2e/.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import sharp from 'sharp';
import { explorerCommand, SHARED, useCodeServer } from './codeServer';

const MODEL = path.join(SHARED, 'fixtures/pytorch/resnet_6blocks_ngf32.pth');
const IMAGES = path.join(SHARED, 'datasets/horse2zebra-mini/testA');
const COUNT = 6;

function hashes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex')]));
}

const e2e = useCodeServer('', (workspace) => {
  mkdirSync(path.join(workspace, 'horses'));
  mkdirSync(path.join(workspace, 'models'));
  for (const f of readdirSync(IMAGES).sort().slice(0, COUNT)) copyFileSync(path.join(IMAGES, f), path.join(workspace, 'horses', f));
  // A truncated JPEG and a text file: listed as unreadable and skipped, never touched.
  const jpeg = readFileSync(path.join(IMAGES, readdirSync(IMAGES).sort()[0]!));
  writeFileSync(path.join(workspace, 'horses', 'corrupt.jpg'), jpeg.subarray(0, 600));
  writeFileSync(path.join(workspace, 'horses', 'notes.txt'), 'where the horses came from\n');
  copyFileSync(MODEL, path.join(workspace, 'models', path.basename(MODEL)));
  // A checkpoint that is not one: the picker says what is wrong with it.
  writeFileSync(path.join(workspace, 'models', 'broken.pth'), jpeg.subarray(0, 2000));
});
const shot = e2e.shot;

test('right-click a folder → Translate to Domain B → PNGs on disk and the comparison panel', () => e2e.withPage(translateFolder));

async function translateFolder(url: string, page: Page): Promise<void> {
  const { workspace } = e2e;
  const before = hashes(path.join(workspace, 'horses'));
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
  // Explorer context menu → our command (activates the extension).
  await explorerCommand(page, 'horses', 'Translate to Domain B', () => shot(page, '0-context-menu'));

  // The model picker lists the workspace's checkpoint with its detected architecture.
  const modelRow = page.locator('.quick-input-list .monaco-list-row', { hasText: 'resnet_6blocks_ngf32.pth' });
  await modelRow.waitFor({ timeout: 60_000 });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'resnet_6blocks · ngf 32' }).waitFor({ timeout: 120_000 });
  const broken = page.locator('.quick-input-list .monaco-list-row', { hasText: 'broken.pth' });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'not usable' }).waitFor({ timeout: 60_000 });
  assert.doesNotMatch(await broken.textContent() ?? '', /Request|detecting/);
  await shot(page, '1-quickpick');
  await modelRow.click();

  // Progress notification with a Cancel button, then the summary.
  const progress = page.locator('.notification-toast', { hasText: 'Translating horses to Domain B' });
  await progress.waitFor({ timeout: 30_000 });
  await page.locator('.notification-toast', { hasText: /\d+\/\d+ images/ }).waitFor({ timeout: 120_000 }).catch(() => undefined);
  await shot(page, '2-progress');
  const summary = page.locator('.notification-toast', { hasText: `Translated ${COUNT} images` });
  await summary.waitFor({ timeout: 600_000 });
  const summaryText = await summary.textContent();
  assert.match(summaryText ?? '', /images\/s on (tensorflow|wasm|cpu)\)\. 1 unreadable\. 1 non-image file skipped\./);

  // Files on disk: one 256×256 PNG per input, input folder byte-for-byte unchanged.
  const outDir = path.join(workspace, 'horses-to-B');
  const outputs = readdirSync(outDir).sort();
  assert.deepEqual(outputs, Object.keys(before).filter((f) => f.startsWith('n0')).map((f) => f.replace(/\.jpg$/, '.png')));
  for (const f of outputs) {
    const meta = await sharp(path.join(outDir, f)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 256, 256], f);
  }
  assert.deepEqual(hashes(path.join(workspace, 'horses')), before);

  // The comparison panel shows the pairs with their images loaded.
  const panel: FrameLocator = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  await panel.locator('.pair').first().waitFor({ timeout: 30_000 });
  assert.equal(await panel.locator('.pair').count(), COUNT);
  assert.equal(await panel.locator('vscode-badge[data-kind="translated"]').textContent(), `${COUNT} translated`);
  assert.match(await panel.locator('#header').textContent() ?? '', /resnet_6blocks/);
  assert.equal(await panel.locator('vscode-badge[data-kind="unreadable"]').textContent(), '1 unreadable');
  assert.match(await panel.locator('.unreadable-list').textContent() ?? '', /corrupt\.jpg — \S/);
  const loaded = async () => panel.locator('.pair img').evaluateAll((imgs) =>
    imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 256).length);
  for (let i = 0; i < 100 && (await loaded()) < 2 * COUNT; i++) await page.waitForTimeout(100);
  assert.equal(await loaded(), 2 * COUNT, 'every input and output thumbnail loads');
  await shot(page, '3-comparison-panel');

  // Status bar: backend and idle state in the tooltip.
  const status = page.locator('.statusbar-item', { hasText: 'DT:' });
  assert.match(await status.textContent() ?? '', /DT: (tensorflow|wasm|cpu)/);
  await status.hover();
  await page.locator('.monaco-hover, .workbench-hover', { hasText: 'Backend:' }).waitFor({ timeout: 10_000 });
  await shot(page, '4-status-tooltip');

  // Click enlarges inside the webview.
  await panel.locator('.pair').nth(1).click();
  await panel.locator('.lightbox:not([hidden])').waitFor();
  assert.equal(await panel.locator('.lightbox-title').textContent(), outputs[1]!.replace(/\.png$/, '.jpg'));
  await shot(page, '5-lightbox');
  await panel.locator('body').press('Escape');

  await cancelSecondRun(page, panel, outDir);
  await restartAfterCrash(page);
}

/** A second run gets a new folder, lists the model under "Recently used", and Cancel stops it early. */
async function cancelSecondRun(page: Page, panel: FrameLocator, firstOut: string): Promise<void> {
  const { workspace } = e2e;
  const firstOutputs = hashes(firstOut);
  await explorerCommand(page, 'horses', 'Translate to Domain B');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Recently used' }).waitFor({ timeout: 30_000 });
  await shot(page, '6-quickpick-recent');
  const recent = page.locator('.quick-input-list .monaco-list-row').first();
  assert.match(await recent.textContent() ?? '', /resnet_6blocks_ngf32\.pth/);
  await recent.click();
  const toast = page.locator('.notification-toast', { hasText: /Translating horses to Domain B: [1-5]\/\d+ images/ });
  await toast.waitFor({ timeout: 300_000 });
  await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
  const cancelled = page.locator('.notification-toast', { hasText: 'Cancelled after' });
  await cancelled.waitFor({ timeout: 120_000 });
  const done = Number(/Cancelled after (\d+) image/.exec(await cancelled.textContent() ?? '')![1]);
  assert.ok(done >= 1 && done < COUNT, `cancelled after ${done} of ${COUNT}`);
  const secondOut = readdirSync(workspace).filter((d) => d.startsWith('horses-to-B') && path.join(workspace, d) !== firstOut);
  assert.equal(secondOut.length, 1, `a new output folder: ${secondOut}`);
  assert.equal(readdirSync(path.join(workspace, secondOut[0]!)).filter((f) => f.endsWith('.png')).length, done);
  assert.deepEqual(hashes(firstOut), firstOutputs, 'the first run\'s outputs are untouched');
  await panel.locator('vscode-badge[data-kind="cancelled"]').waitFor({ timeout: 30_000 });
  assert.equal(await panel.locator('.pair').count(), done);
  await shot(page, '7-cancelled');
}

/** Killing the server: the user is told, and it comes back on the same backend. */
async function restartAfterCrash(page: Page): Promise<void> {
  const status = page.locator('.statusbar-item', { hasText: 'DT:' });
  const backend = /DT: (\w+)/.exec(await status.textContent() ?? '')![1];
  const pid = e2e.server.languageServerPid();
  process.kill(pid, 'SIGKILL');
  await page.locator('.notification-toast', { hasText: 'server stopped unexpectedly and was restarted' }).waitFor({ timeout: 30_000 });
  await page.locator('.statusbar-item', { hasText: `DT: ${backend}` }).waitFor({ timeout: 60_000 });
  assert.notEqual(e2e.server.languageServerPid(), pid);
  await shot(page, '8-restarted');
}
