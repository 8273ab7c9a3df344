// What the training panel plots and says, from log records: loss groups under
// the official names, TensorBoard-style debiased smoothing, collapse findings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { LogRecord } from '../../protocol/training';
import { collapseFindings, lossColumns, lossGroups, smooth, stripColumns } from '../../webview/training/series';

const real = readFileSync(path.resolve(__dirname, '../fixtures/training/cyclegan-preview-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogRecord);
const record = (step: number, losses: Record<string, number>): LogRecord => ({ step, epoch: 1, lr: 2e-4, seconds_per_iteration: 1, losses });

test('loss groups: CycleGAN from a real log, pix2pix by its official names, unknown names kept', () => {
  assert.deepEqual(lossGroups('cyclegan', real).map((g) => g.names), [['D_A', 'D_B'], ['G_A', 'G_B'], ['cycle_A', 'cycle_B'], ['idt_A', 'idt_B']]);
  const p2p = [record(1, { G_GAN: 1, G_L1: 30, D_real: 0.7, D_fake: 0.6 })];
  assert.deepEqual(lossGroups('pix2pix', p2p).map((g) => g.names), [['G_GAN'], ['G_L1'], ['D_real', 'D_fake']]);
  // lambda_identity 0: no idt losses logged, no identity chart; a new loss gets its own chart.
  const noIdt = [record(1, { D_A: 1, G_A: 1, cycle_A: 1, D_B: 1, G_B: 1, cycle_B: 1, extra: 2 })];
  assert.deepEqual(lossGroups('cyclegan', noIdt).map((g) => g.title), ['Discriminators (D_A, D_B)', 'Generators, adversarial (G_A, G_B)', 'Cycle consistency (cycle_A, cycle_B)', 'extra']);
  assert.deepEqual(stripColumns('pix2pix'), ['A (input)', 'G(A)', 'B (target)']);
});

test('smoothing is an exponential moving average debiased like TensorBoard\'s', () => {
  assert.deepEqual(smooth([4, 4, 4], 0.9).map((v) => Number(v!.toFixed(12))), [4, 4, 4]);
  const [a, b] = smooth([1, 3], 0.5) as number[];
  assert.equal(a, 1);
  assert.equal(b, (0.25 + 1.5) / 0.75);
  assert.deepEqual(smooth([1, null, 2], 0), [1, null, 2]);
  const [steps, dA] = lossColumns(real, ['D_A'], 0);
  assert.deepEqual(steps, [5, 10, 15, 20, 25, 30]);
  assert.equal(dA![0], real[0]!.losses.D_A);
});

test('collapse findings: diversity ratio and discriminator losses near 0', () => {
  const ok = collapseFindings('cyclegan', real, [{ step: 10, ratio: { AtoB: 0.6, BtoA: 0.9 } }, { step: 30, ratio: { AtoB: 0.8, BtoA: 0.95 } }], 'lsgan');
  assert.deepEqual(ok.map((f) => f.level), ['ok', 'ok']);
  assert.match(ok[0]!.text, /G_A: outputs for the two probe images differ 80% as much as the inputs at step 30 \(60% at step 10\)/);

  const collapsed = collapseFindings('pix2pix', [], [{ step: 100, ratio: { AtoB: 0.05 } }], 'vanilla');
  assert.equal(collapsed[0]!.level, 'warning');
  assert.match(collapsed[0]!.text, /Possible mode collapse: G's outputs .* only 5% as much as the real targets/);

  const dWins = Array.from({ length: 6 }, (_, i) => record(i + 1, { D_A: 0.001, D_B: 0.5, G_A: 3, G_B: 1 }));
  const d = collapseFindings('cyclegan', dWins, [], 'lsgan');
  assert.deepEqual(d.map((f) => f.level), ['ok', 'warning']);
  assert.match(d[1]!.text, /^D_A averaged 1\.0e-3 over the last 5 records \(under 0\.01\)/);
  // The real run's discriminators are far from that.
  assert.equal(collapseFindings('cyclegan', real, [], 'lsgan').filter((f) => f.level === 'warning').length, 0);
});
