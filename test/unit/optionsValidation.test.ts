// options.json validation as the language server runs it: real resolved
// options, real dataset folders, and diagnostics checked by the exact text
// their ranges cover.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import schema from '../../media/schemas/options.schema.json';
import { detectLayout } from '../../server/data/layout';
import { resolveOptions } from '../../server/options/options';
import {
  KNOWN_OPTIONS, suggestOption, validateOptionsFile, validateOptionsText, workspaceOfOptionsFile, type OptionsDiagnostic,
} from '../../server/options/validateOptionsJson';

const SHARED = path.resolve(__dirname, '../../../shared');
const H2Z = path.join(SHARED, 'datasets/horse2zebra-mini');
const FACADES = path.join(SHARED, 'datasets/facades');

let workspace: string;
let optionsFile: string;

before(() => {
  workspace = mkdtempSync(path.join(os.tmpdir(), 'dt-options-'));
  optionsFile = path.join(workspace, '.domain-translator/runs/r1/options.json');
  mkdirSync(path.dirname(optionsFile), { recursive: true });
  // A small unaligned dataset inside the workspace, for relative dataroot values.
  for (const d of ['trainA', 'trainB']) {
    mkdirSync(path.join(workspace, 'data/h2z', d), { recursive: true });
    const f = readdirSync(path.join(H2Z, d)).sort()[0]!;
    copyFileSync(path.join(H2Z, d, f), path.join(workspace, 'data/h2z', d, f));
  }
  mkdirSync(path.join(workspace, 'data/flat'), { recursive: true });
  const f = readdirSync(path.join(H2Z, 'testA')).sort()[0]!;
  copyFileSync(path.join(H2Z, 'testA', f), path.join(workspace, 'data/flat', f));
});

after(() => rmSync(workspace, { recursive: true, force: true }));

function offsetOf(text: string, p: { line: number; character: number }): number {
  const lines = text.split('\n');
  return lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
}

/** The text a diagnostic's range covers. */
function covered(text: string, d: OptionsDiagnostic): string {
  return text.slice(offsetOf(text, d.range.start), offsetOf(text, d.range.end));
}

function json(o: Record<string, unknown>): string {
  return JSON.stringify(o, null, 2) + '\n';
}

const cyclegan = () => resolveOptions({ dataroot: H2Z, model: 'cyclegan', preset: 'preview' }, { datasetSize: 400 }) as unknown as Record<string, unknown>;
const pix2pix = () => resolveOptions({ dataroot: FACADES, model: 'pix2pix', preset: 'standard', direction: 'BtoA' }, { datasetSize: 400 }) as unknown as Record<string, unknown>;

test('the schema names exactly the options the engine resolves, each with a description', () => {
  assert.deepEqual([...KNOWN_OPTIONS].sort(), Object.keys({ ...cyclegan(), backend: 'wasm' }).sort());
  for (const [k, p] of Object.entries(schema.properties)) assert.ok((p as { description?: string }).description, `${k} has a description`);
  assert.equal(schema.additionalProperties, false);
});

test('resolved preset options of both models give no diagnostic', async () => {
  for (const o of [cyclegan(), pix2pix()]) {
    const found = await validateOptionsFile(json(o), optionsFile, detectLayout);
    assert.deepEqual(found, [], `${o.model}: ${found.map((d) => d.message).join('; ')}`);
  }
});

test('an unknown option is flagged on its key, with the closest known name', () => {
  const o = cyclegan();
  const text = json({ ...o, ngF: 64, 'lambda-identity': 0.5, flux_capacitor: 1 });
  const { diagnostics } = validateOptionsText(text);
  assert.equal(diagnostics.length, 3);
  assert.deepEqual(diagnostics.map((d) => [d.severity, covered(text, d)]),
    [['error', '"ngF"'], ['error', '"lambda-identity"'], ['error', '"flux_capacitor"']]);
  assert.match(diagnostics[0]!.message, /unknown option "ngF"; did you mean "ngf"\?/);
  assert.match(diagnostics[1]!.message, /did you mean "lambda_identity"/);
  assert.doesNotMatch(diagnostics[2]!.message, /did you mean/);
  assert.equal(suggestOption('crop_sise'), 'crop_size');
});

test('crop sizes the generator cannot take, and a crop larger than the load size', () => {
  const text = json({ ...cyclegan(), crop_size: 66, load_size: 60 });
  const { diagnostics } = validateOptionsText(text);
  assert.deepEqual(diagnostics.map((d) => covered(text, d)), ['66', '66']);
  assert.match(diagnostics[0]!.message, /crop_size must be a multiple of 4 \(the ResNet generator downsamples twice\); got 66/);
  assert.match(diagnostics[1]!.message, /crop_size \(66\) is larger than load_size \(60\)/);

  const unet = json({ ...pix2pix(), crop_size: 192, load_size: 200 });
  const u = validateOptionsText(unet).diagnostics;
  assert.equal(u.length, 1);
  assert.match(u[0]!.message, /multiple of 128 \(unet_128 halves the image 7 times\); got 192/);

  const scaled = json({ ...cyclegan(), preprocess: 'scale_width', load_size: 250 });
  const s = validateOptionsText(scaled).diagnostics;
  assert.deepEqual(s.map((d) => covered(scaled, d)), ['250']);
  assert.match(s[0]!.message, /load_size must be a multiple of 4/);
  // preprocess none: the loader rounds sizes itself, nothing to flag.
  assert.deepEqual(validateOptionsText(json({ ...cyclegan(), preprocess: 'none', load_size: 250, crop_size: 250 })).diagnostics, []);
});

test('netG and options that do not fit the model', () => {
  const text = json({ ...cyclegan(), netG: 'unet_256', crop_size: 256, load_size: 286 });
  const d = validateOptionsText(text).diagnostics;
  assert.deepEqual(d.map((x) => [x.severity, covered(text, x)]), [['warning', '"unet_256"']]);
  const p = json({ ...pix2pix(), pool_size: 50, netG: 'resnet_9blocks' });
  const pd = validateOptionsText(p).diagnostics;
  assert.deepEqual(pd.map((x) => [x.severity, covered(p, x)]), [['information', '"resnet_9blocks"'], ['warning', '50']]);
});

test('dataset folder: missing, a single folder, unaligned for pix2pix, relative to the workspace', async () => {
  const missing = json({ ...cyclegan(), dataroot: path.join(workspace, 'nope') });
  const m = await validateOptionsFile(missing, optionsFile, detectLayout);
  assert.equal(m.length, 1);
  assert.equal(covered(missing, m[0]!), JSON.stringify(path.join(workspace, 'nope')));
  assert.match(m[0]!.message, /nope: not a folder/);

  assert.equal(workspaceOfOptionsFile(optionsFile), workspace);
  const relative = json({ ...cyclegan(), dataroot: 'data/h2z' });
  assert.deepEqual(await validateOptionsFile(relative, optionsFile, detectLayout), []);

  const flat = await validateOptionsFile(json({ ...cyclegan(), dataroot: 'data/flat' }), optionsFile, detectLayout);
  assert.match(flat[0]!.message, /single folder of images/);

  const wrong = await validateOptionsFile(json({ ...pix2pix(), dataroot: H2Z }), optionsFile, detectLayout);
  assert.equal(wrong.length, 1);
  assert.match(wrong[0]!.message, /pix2pix needs paired images, but .* is unaligned/);

  const empty = validateOptionsText(json({ ...cyclegan(), dataroot: ' ' })).diagnostics;
  assert.match(empty[0]!.message, /dataroot is empty/);
});

test('text that is not an options object gives no diagnostic of ours (the JSON support reports syntax)', () => {
  assert.deepEqual(validateOptionsText('').diagnostics, []);
  assert.deepEqual(validateOptionsText('[1, 2]').diagnostics, []);
  const partial = '{\n  "ngf": 64,\n  "crop_size": 30,\n';
  assert.match(validateOptionsText(partial).diagnostics[0]?.message ?? '', /multiple of 4/);
});

test('positions count lines and characters as LSP does', () => {
  const text = '{\n  "model": "cyclegan",\n    "bogus": 1\n}';
  const [d] = validateOptionsText(text).diagnostics;
  assert.deepEqual(d!.range, { start: { line: 2, character: 4 }, end: { line: 2, character: 11 } });
});
