import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ISSUE_KINDS } from '../../server/data/checks/thresholds';
import { MANIFEST_NAME } from '../../server/data/manifest';
import { hashTree, makePlantedUnaligned, PLANTED } from './scanFixture';

const repo = path.resolve(__dirname, '../..');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repo, 'server/cli.ts'), ...args], { cwd: repo, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('scan --json prints exactly layout, splits and issues with relative paths and the official kind names', async () => {
  const root = await makePlantedUnaligned();
  const before = await hashTree(root);
  const r = cli('scan', root, '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { layout: string; splits: Record<string, number>; issues: { file: string; kind: string; detail: unknown }[] };
  assert.deepEqual(Object.keys(out), ['layout', 'splits', 'issues']);
  assert.equal(out.layout, 'unaligned');
  assert.deepEqual(out.splits, { trainA: 33, trainB: 20, testA: 7, testB: 6 });
  for (const issue of out.issues) {
    assert.deepEqual(Object.keys(issue), ['file', 'kind', 'detail']);
    assert.ok((ISSUE_KINDS as readonly string[]).includes(issue.kind), issue.kind);
    assert.ok(!path.isAbsolute(issue.file) && !issue.file.includes('\\'), issue.file);
  }
  for (const [kind, files] of Object.entries(PLANTED)) for (const file of files) assert.ok(out.issues.some((i) => i.file === file && i.kind === kind), `${file} ${kind}`);
  assert.deepEqual(await hashTree(root), before);
});

test('scan without --json prints a summary per kind; thresholds from the manifest and the command line apply', async () => {
  const root = await makePlantedUnaligned();
  const human = cli('scan', root);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /unaligned · trainA 33 · trainB 20 · testA 7 · testB 6/);
  assert.match(human.stdout, /^ {2}dark +1 {2}trainA\/black\.png$/m);
  assert.match(human.stdout, /^ {2}corrupt +2 {2}trainA\/text\.jpg, trainA\/truncated\.jpg$/m);
  await fs.writeFile(path.join(root, MANIFEST_NAME), JSON.stringify({ version: 1, thresholds: { dark: 0 } }));
  assert.doesNotMatch(cli('scan', root).stdout, /^ {2}dark/m);
  assert.match(cli('scan', root, '--threshold', 'dark=0.2').stdout, /^ {2}dark +1/m);
});

test('scan exit codes: 2 for a bad command line, 1 when the folder cannot be scanned', () => {
  const none = cli('scan');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^domain-translator: scan takes one dataset folder/);
  assert.equal(cli('scan', '.', '--threshold', 'bogus=1').code, 2);
  assert.equal(cli('scan', '.', '--frobnicate').code, 2);
  const missing = cli('scan', path.join(repo, 'no-such-folder'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no-such-folder: not a folder/);
});
