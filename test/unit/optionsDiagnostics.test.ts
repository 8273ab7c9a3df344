// The as-you-type check of options.json: overlapping checks publish only the
// newest version's result, also when the older check finishes last.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { OptionsDiagnostic } from '../../server/options/validateOptionsJson';
import { optionsChecker } from '../../server/optionsDiagnostics';

test('a slow check of an older version does not overwrite the newer one (TextDocuments updates the document in place)', async () => {
  const published: unknown[][] = [];
  const pending: { text: string; resolve: (d: OptionsDiagnostic[]) => void }[] = [];
  const checker = optionsChecker(
    async (_uri, diagnostics) => void published.push(diagnostics.map((d) => d.message)),
    (text) => new Promise((resolve) => pending.push({ text, resolve })),
  );
  const found = (text: string): OptionsDiagnostic[] => [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, severity: 'error', message: `got ${JSON.parse(text).crop_size}` }];

  const doc = TextDocument.create('file:///tmp/run/options.json', 'json', 1, '{"crop_size": 6}');
  const first = checker.check(doc);
  TextDocument.update(doc, [{ text: '{"crop_size": 66}' }], 2); // as TextDocuments does on a change: same object
  const second = checker.check(doc);
  assert.deepEqual(pending.map((p) => p.text), ['{"crop_size": 6}', '{"crop_size": 66}']);
  pending[1].resolve(found(pending[1].text));
  await second;
  pending[0].resolve(found(pending[0].text));
  await first;
  assert.deepEqual(published, [['got 66']]);

  // other files are not checked
  await checker.check(TextDocument.create('file:///tmp/run/notes.json', 'json', 1, '{}'));
  assert.equal(pending.length, 2);
});
