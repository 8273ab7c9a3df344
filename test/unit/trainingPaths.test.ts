// The check the training panel's host applies to every path the webview sends:
// real files inside the run folder pass; anything else is refused.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultRunName, isInside, resolveInside, sanitizeRunName } from '../../extension/training/paths';

let tmp: string;
let run: string;

before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dt-paths-'));
  run = path.join(tmp, 'ws/.domain-translator/runs/r1');
  mkdirSync(path.join(run, 'samples'), { recursive: true });
  writeFileSync(path.join(run, 'options.json'), '{}');
  writeFileSync(path.join(run, 'samples/step-0000010.png'), 'png');
  writeFileSync(path.join(tmp, 'ws/secret.txt'), 'outside the run');
  mkdirSync(path.join(tmp, 'ws-evil'));
  writeFileSync(path.join(tmp, 'ws-evil/x.json'), '{}');
  symlinkSync(path.join(tmp, 'ws/secret.txt'), path.join(run, 'link-out.txt'));
  symlinkSync(path.join(run, 'options.json'), path.join(run, 'link-in.json'));
});

after(() => rmSync(tmp, { recursive: true, force: true }));

test('files of the run folder are accepted, as their real paths', () => {
  assert.equal(resolveInside(run, path.join(run, 'options.json')), path.join(run, 'options.json'));
  assert.equal(resolveInside(run, path.join(run, 'samples/step-0000010.png')), path.join(run, 'samples/step-0000010.png'));
  assert.equal(resolveInside(run, path.join(run, 'link-in.json')), path.join(run, 'options.json'));
  assert.equal(resolveInside(run, run), run);
});

test('paths outside the run folder are refused: parent, traversal, prefix sibling, symlink out, relative, missing, not a string', () => {
  const refused: unknown[] = [
    path.join(tmp, 'ws/secret.txt'),
    path.join(run, '../../../secret.txt'),
    path.join(run, 'samples/../../../../secret.txt'),
    path.join(run, 'link-out.txt'),
    path.join(tmp, 'ws-evil/x.json'),
    `${run}-other/options.json`,
    '/etc/passwd',
    'options.json',
    './samples/step-0000010.png',
    path.join(run, 'missing.json'),
    `${path.join(run, 'options.json')}\0.png`,
    '',
    42,
    undefined,
    { path: path.join(run, 'options.json') },
  ];
  for (const p of refused) assert.equal(resolveInside(run, p), undefined, `refused: ${String(p)}`);
  assert.equal(isInside(path.join(tmp, 'ws'), path.join(tmp, 'ws-evil/x.json')), false);
});

test('run names are safe folder names', () => {
  assert.equal(sanitizeRunName('  my run / ../x  '), 'my-run-..-x');
  assert.equal(sanitizeRunName('../../etc'), 'etc');
  assert.equal(defaultRunName('/data/horse2zebra-mini', 'cyclegan', 'preview', new Date(2026, 10, 29, 4, 5)), 'horse2zebra-mini-cyclegan-preview-20261129-0405');
});
