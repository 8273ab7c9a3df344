// End to end in a real VS Code (code-server) with the packaged .vsix: the
// native kernels built from the status bar's tooltip, then the
// command palette's "Start Training…" on a small unaligned dataset (8 images
// per domain from horse2zebra-mini), Preview preset, shortened by workspace
// settings; the progress notification, the status bar, the run folder on
// disk, the training panel's curves and samples; then options.json validated
// as you type. Screenshots go to test-output/e2e/train-*.png.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { explorerCommand, SHARED, useCodeServer } from './codeServer';

const H2Z = path.join(SHARED, 'datasets/horse2zebra-mini');
const PER_DOMAIN = 8;
const ITERATIONS = 6;

const e2e = useCodeServer('train-', (workspace) => {
  for (const d of ['trainA', 'trainB']) {
    mkdirSync(path.join(workspace, 'h2z-small', d), { recursive: true });
    for (const f of readdirSync(path.join(H2Z, d)).sort().slice(0, PER_DOMAIN)) copyFileSync(path.join(H2Z, d, f), path.join(workspace, 'h2z-small', d, f));
  }
  // A short run: every step logged, a sample strip every 2 steps.
  mkdirSync(path.join(workspace, '.vscode'));
  writeFileSync(path.join(workspace, '.vscode/settings.json'), JSON.stringify({
    'domainTranslator.training.iterations': ITERATIONS, 'domainTranslator.training.logEvery': 1, 'domainTranslator.training.sampleEvery': 2,
  }, null, 2));
});
const shot = e2e.shot;

test('Start Training… from the palette → progress, status bar, run folder, training panel, options validated as you type', () => e2e.withPage(startTraining));

async function runCommand(page: Page, title: string): Promise<void> {
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title });
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    if (await row.first().waitFor({ timeout: 3000 }).then(() => true, () => false)) break;
    assert.ok(attempt < 30, `the command palette never offered "${title}"`);
    await page.keyboard.press('Escape');
    await page.waitForTimeout(2000);
  }
  await row.first().click();
}

async function startTraining(url: string, page: Page): Promise<void> {
  const { workspace } = e2e;
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: /^h2z-small$/ }).waitFor({ timeout: 60_000 });
  await buildNativeKernels(page);

  await runCommand(page, 'Domain Translator: Start Training…');
  // 1/4 dataset: found in the workspace.
  const datasetRow = page.locator('.quick-input-list .monaco-list-row', { hasText: 'h2z-small' });
  await datasetRow.waitFor({ timeout: 60_000 });
  assert.match(await page.locator('.quick-input-list .monaco-list-row').first().textContent() ?? '', /h2z-small/);
  await shot(page, '1-dataset');
  // Enter takes the active (first) row; a hover over a row could intercept a click.
  await page.keyboard.press('Enter');
  // 2/4 model: the detected layout is shown and CycleGAN is suggested first.
  const placeholder = page.locator('.quick-input-widget input[placeholder*="Detected layout"]');
  await placeholder.waitFor({ timeout: 60_000 });
  assert.match(await placeholder.getAttribute('placeholder') ?? '', /unaligned: trainA 8, trainB 8/);
  const first = page.locator('.quick-input-list .monaco-list-row').first();
  assert.match(await first.textContent() ?? '', /CycleGAN.*suggested for unaligned data/);
  await shot(page, '2-model');
  await page.keyboard.press('Enter');
  // 3/4 preset.
  const preview = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Preview' });
  await preview.waitFor();
  assert.match(await page.locator('.quick-input-list .monaco-list-row').first().textContent() ?? '', /^Preview/);
  await shot(page, '3-preset');
  await page.keyboard.press('Enter');
  // 4/4 name: the default <dataset>-<model>-<preset>-<date>.
  const nameInput = page.locator('.quick-input-widget input');
  await page.waitForFunction(() => (document.querySelector('.quick-input-widget input') as HTMLInputElement | null)?.value.startsWith('h2z-small-cyclegan-preview-'));
  const name = await nameInput.inputValue();
  assert.match(name, /^h2z-small-cyclegan-preview-\d{8}-\d{4}$/);
  await nameInput.press('Enter');

  // Progress notification with Cancel, and the status bar item with step/total.
  const toast = page.locator('.notification-toast', { hasText: `Training ${name}` });
  await toast.waitFor({ timeout: 60_000 });
  assert.equal(await toast.locator('.monaco-button', { hasText: 'Cancel' }).count(), 1);
  const status = page.locator('.statusbar-item', { hasText: new RegExp(`Train ${name}: step [1-${ITERATIONS}]/${ITERATIONS}`) });
  await status.waitFor({ timeout: 600_000 });
  assert.match(await status.textContent() ?? '', new RegExp(`step \\d/${ITERATIONS} · epoch 1 · [\\d.]+ it/s`));
  await shot(page, '4-progress');

  // The run ends; the run folder holds options, a record per step, samples and the latest checkpoint.
  await page.locator('.notification-toast', { hasText: `Training finished: ${ITERATIONS} steps` }).waitFor({ timeout: 900_000 });
  await page.locator('.statusbar-item', { hasText: `Train ${name}: finished at step ${ITERATIONS}` }).waitFor({ timeout: 30_000 });
  const runDir = path.join(workspace, '.domain-translator/runs', name);
  const options = JSON.parse(readFileSync(path.join(runDir, 'options.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(options.model, 'cyclegan');
  assert.equal(options.crop_size, 64);
  assert.equal(options.iterations, ITERATIONS);
  assert.equal(options.dataroot, path.join(workspace, 'h2z-small'));
  const log = readFileSync(path.join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; losses: Record<string, number> });
  assert.deepEqual(log.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Object.keys(log[0]!.losses).sort(), ['D_A', 'D_B', 'G_A', 'G_B', 'cycle_A', 'cycle_B', 'idt_A', 'idt_B']);
  assert.deepEqual(readdirSync(path.join(runDir, 'samples')).sort(), ['step-0000002.png', 'step-0000004.png', 'step-0000006.png']);
  assert.ok(existsSync(path.join(runDir, 'checkpoints/latest/manifest.json')));

  // The training panel: a chart per loss group (plus output diversity), the last strip, the finished state.
  const panel: FrameLocator = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  await panel.locator('vscode-badge.state', { hasText: 'finished' }).waitFor({ timeout: 30_000 });
  assert.equal(await panel.locator('.chart canvas').count(), 5);
  assert.equal(await panel.locator('.step-value').textContent(), `step ${ITERATIONS}`);
  await panel.locator('.strip-img').evaluate((img) => new Promise((r) => ((img as HTMLImageElement).complete ? r(null) : img.addEventListener('load', r))));
  assert.equal(await panel.locator('.strip-img').evaluate((img) => (img as HTMLImageElement).naturalWidth), 192);
  await shot(page, '5-panel');

  await validateAsYouType(page, panel, runDir);
  await killDuringTraining(page, panel);
}

/** The server status bar item's tooltip once it says `text`, hovering again until it does. */
async function statusTooltip(page: Page, text: string): Promise<Locator> {
  const status = page.locator('.statusbar-item', { hasText: 'DT: tensorflow' });
  const hover = page.locator('.workbench-hover').filter({ hasText: text }).first();
  for (let attempt = 0; ; attempt++) {
    await status.hover({ timeout: 120_000 });
    if (await hover.waitFor({ timeout: 5000 }).then(() => true, () => false)) return hover;
    const shown = await page.locator('.workbench-hover').first().textContent({ timeout: 1000 }).catch(() => 'no tooltip');
    assert.ok(attempt < 20, `the status tooltip never said ${text}; it says: ${shown}`);
    await page.mouse.move(700, 400);
    await page.waitForTimeout(1000);
  }
}

/**
 * The installed extension has tfjs-node (the repository's, as its Tfjs
 * Directory) but no native kernels: the tooltip offers to build them, its link
 * compiles them, and the restarted server loads them for the training below.
 */
async function buildNativeKernels(page: Page): Promise<void> {
  await runCommand(page, 'Domain Translator: Show Log'); // activates the extension
  const offer = await statusTooltip(page, 'not built for this TensorFlow library');
  await shot(page, '0-kernels-offered');
  await offer.locator('a', { hasText: 'Build native kernels' }).click();
  await page.locator('.notification-toast', { hasText: 'compiling the native kernels' }).waitFor({ timeout: 30_000 });
  await page.locator('.notification-toast', { hasText: /native kernels built in \d+ s; the server restarted with them/ }).waitFor({ timeout: 300_000 });
  await page.mouse.move(700, 400);
  // a string: Playwright normalises its whitespace, and the tooltip's spaces are non-breaking
  await statusTooltip(page, 'convolutions): loaded; convolutions split over');
  await shot(page, '0-kernels-loaded');
  await page.mouse.move(700, 400);
}

/** A second run from the explorer's context menu; the server is killed mid-run: the status is recovered from the run folder. */
async function killDuringTraining(page: Page, panel: FrameLocator): Promise<void> {
  await explorerCommand(page, 'h2z-small', 'Start Training…');
  await page.locator('.quick-input-widget input[placeholder*="Detected layout"]').waitFor({ timeout: 60_000 });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Preview' }).waitFor();
  await page.keyboard.press('Enter');
  const input = page.locator('.quick-input-widget input');
  await page.waitForFunction(() => (document.querySelector('.quick-input-widget input') as HTMLInputElement | null)?.value.startsWith('h2z-small-'));
  await input.fill('killed-run');
  await input.press('Enter');
  await page.locator('.statusbar-item', { hasText: new RegExp(`Train killed-run: step [1-${ITERATIONS - 1}]/${ITERATIONS}`) }).waitFor({ timeout: 600_000 });

  process.kill(e2e.server.languageServerPid(), 'SIGKILL');
  await page.locator('.notification-toast', { hasText: 'training killed-run stopped with the server' }).waitFor({ timeout: 90_000 });
  const status = page.locator('.statusbar-item', { hasText: /Train killed-run: stopped at step [1-5]/ });
  await status.waitFor({ timeout: 30_000 });
  await panel.locator('vscode-badge.state', { hasText: 'stopped' }).waitFor({ timeout: 30_000 });
  assert.match(await panel.locator('.message').first().textContent() ?? '', /recovered from the run folder \(no complete checkpoint yet\)/);
  assert.ok(await panel.locator('.chart canvas').count() >= 4, 'the killed run\'s logged steps are still plotted');
  await shot(page, '7-recovered-after-kill');

  // "Resume Training…" lists it; with no checkpoint yet it would start again from its options.json.
  await runCommand(page, 'Domain Translator: Resume Training…');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'killed-run' });
  await row.waitFor({ timeout: 30_000 });
  assert.match(await row.textContent() ?? '', /no checkpoint: starts from options\.json/);
  assert.match(await page.locator('.quick-input-list .monaco-list-row', { hasText: 'h2z-small-cyclegan-preview' }).textContent() ?? '', /checkpoint at step 6\/6/);
  await shot(page, '8-resume-list');
  await page.keyboard.press('Escape');
}

/** Open options.json from the panel, break crop_size: the server's diagnostic appears in the Problems view. */
async function validateAsYouType(page: Page, panel: FrameLocator, runDir: string): Promise<void> {
  const line = readFileSync(path.join(runDir, 'options.json'), 'utf8').split('\n').findIndex((l) => l.includes('"crop_size": 64')) + 1;
  assert.ok(line > 0);
  await panel.locator('.actions vscode-button', { hasText: 'options.json' }).click();
  const editor = page.locator('.editor-instance .monaco-editor', { hasText: '"netG"' }).first();
  await editor.waitFor({ timeout: 30_000 });
  await editor.locator('.view-lines').click();
  // Go to the crop_size line, select its value (before the comma), type a size the ResNet cannot take.
  await page.keyboard.press('Control+G');
  await page.keyboard.type(String(line));
  await page.keyboard.press('Enter');
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Shift+ArrowLeft');
  await page.keyboard.press('Shift+ArrowLeft');
  await page.keyboard.type('66');
  await page.keyboard.press('Control+Shift+M');
  // Diagnostics follow each keystroke ("6", then "66"): wait for the last one.
  const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'crop_size must be a multiple of 4' });
  await problem.filter({ hasText: 'got 66' }).waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('.markers-panel .monaco-list-row[aria-level="2"]').count(), 1, 'one problem, ours');
  await shot(page, '6-options-diagnostic');
  // Typing it back clears the diagnostic (the file is never saved by the test).
  await page.keyboard.press('Control+Z');
  await problem.waitFor({ state: 'detached', timeout: 60_000 });
}
