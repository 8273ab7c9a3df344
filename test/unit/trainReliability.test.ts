// `domain-translator train` on bad input (issue 5): a run whose options.json
// was edited into wrong types or unknown names, bad option values, a run that
// diverges to NaN, and a dataset holding the bad-image corpus.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { findCheckpoint, loadCheckpoint } from '../../server/train/checkpoint';
import { buildCorpus, hashTree } from './support/badImageCorpus';

const REPO = path.resolve(__dirname, '../..');
const H2Z = path.resolve(REPO, '../shared/datasets/horse2zebra-mini');
const TINY = ['--crop-size', '32', '--load-size', '36', '--ngf', '8', '--ndf', '8', '--print-every', '1', '--sample-every', '1000'];
const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[]): Promise<Outcome> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', path.join(REPO, 'server/cli.ts'), ...args], { cwd: REPO, timeout: 300_000 });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let root: string;
/** A few images per domain: the dataset check and the steps stay quick. */
let small: string;

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-train-rel-'));
  small = path.join(root, 'small');
  for (const side of ['trainA', 'trainB']) {
    await fs.mkdir(path.join(small, side), { recursive: true });
    for (const f of (await fs.readdir(path.join(H2Z, side))).sort().slice(0, 4)) await fs.copyFile(path.join(H2Z, side, f), path.join(small, side, f));
  }
});

test('train --resume with an options.json of wrong types and unknown names: one error listing every field, run untouched', async () => {
  const dir = path.join(root, 'run-config');
  const first = await cli(['train', small, '--iterations', '1', '--run', dir, ...TINY]);
  assert.equal(first.code, 0, first.stderr);
  const optionsFile = path.join(dir, 'options.json');
  const good = JSON.parse(await fs.readFile(optionsFile, 'utf8')) as Record<string, unknown>;
  await fs.writeFile(optionsFile, JSON.stringify({ ...good, lr: '0.0002', no_flip: 'yes', netG: 'resnet_7blocks', crop_size: null, niter: 100, lambda_a: 10 }, null, 2));
  const before = await hashTree(dir);
  const r = await cli(['train', '--resume', '--run', dir, '--iterations', '3']);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].startsWith(`domain-translator: ${optionsFile}: invalid training options: `), lines[0]);
  for (const field of [
    /unknown options niter, lambda_a/,
    /lr must be a finite number \(got "0\.0002"\)/,
    /no_flip must be a boolean \(got "yes"\)/,
    /crop_size must be a finite number \(got null\)/,
    /netG must be one of resnet_9blocks, resnet_6blocks, unet_128, unet_256 \(got "resnet_7blocks"\)/,
  ]) assert.match(lines[0], field);
  assert.deepEqual(await hashTree(dir), before, 'the run folder changed');

  await fs.writeFile(optionsFile, '{"model": "cyclegan",');
  const broken = await cli(['train', '--resume', '--run', dir]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /options\.json: not valid JSON \(/);
});

test('train with bad option values: exit 1 (values) or 2 (flags), every problem named', async () => {
  const r = await cli(['train', small, '--iterations', '1', '--run', path.join(root, 'run-values'), '--crop-size', '30', '--load-size', '20', '--ngf', '0']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^domain-translator: invalid training options: ngf must be a positive integer \(got 0\); crop_size must be a multiple of 4 \(got 30\); load_size \(20\) must be at least crop_size \(30\)\n$/);
  const flag = await cli(['train', small, '--lr', 'fast']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--lr must be a number \(got "fast"\)/);
  await assert.rejects(fs.stat(path.join(root, 'run-values')), /ENOENT/);
});

test('a loss that becomes NaN stops training with the loss and step named, exit 1, the last good checkpoint kept', async () => {
  const dir = path.join(root, 'run-nan');
  // A real divergence: Adam's first step moves every weight by ~lr, so lr 1e30
  // gives finite step-1 losses and overflowing activations at step 2.
  const r = await cli(['train', small, '--iterations', '6', '--lr', '1e30', '--save-every', '1', '--run', dir, ...TINY]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /^domain-translator: loss (D_A|G_A|cycle_A|idt_A|D_B|G_B|cycle_B|idt_B) is (NaN|-?Infinity) at step 2: training stopped .*The last good checkpoint \(step 1\) is kept in checkpoints\/; resume continues from it\.\n$/);
  const found = await findCheckpoint(path.join(dir, 'checkpoints'));
  assert.equal(found?.step, 1);
  assert.deepEqual(await fs.readdir(path.join(dir, 'checkpoints')), ['latest']);
  const state = await loadCheckpoint(found!.dir);
  for (const [net, sd] of state.nets) for (const [key, t] of sd) assert.ok(t.data.every(Number.isFinite), `${net}.${key} is not finite`);
  const log = (await fs.readFile(path.join(dir, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { step: number });
  assert.deepEqual(log.map((l) => l.step), [1]);
  await assert.rejects(fs.stat(path.join(dir, 'export')), /ENOENT/);
});

test('training leaves out images that do not decode, with a warning listing them, and changes no input file', async () => {
  const data = path.join(root, 'bad-data');
  await fs.cp(small, data, { recursive: true });
  const expect = await buildCorpus(path.join(data, 'trainA'));
  const before = await hashTree(data);
  const unreadable = [...expect].filter(([name, e]) => e.kind === 'unreadable' && name !== 'folder.jpg');
  const usableA = (await fs.readdir(path.join(data, 'trainA'))).filter((n) => /\.(jpe?g|png|gif|webp|tiff?)$/i.test(n) && expect.get(n)?.kind !== 'unreadable' && expect.get(n)?.kind !== 'nonImage').length;
  // one epoch over trainA: every usable image, the unusual formats included, is trained on
  const r = await cli(['train', data, '--iterations', String(usableA), '--run', path.join(root, 'run-bad-data'), ...TINY]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`on ${usableA} images per domain`));
  assert.match(r.stderr, new RegExp(`warning: ${unreadable.length} images left out of training \\(they do not decode\\):`));
  for (const [name, e] of unreadable) {
    assert.ok(e.kind === 'unreadable');
    const line = r.stderr.split('\n').find((l) => l.startsWith(`  trainA/${name}: `));
    assert.ok(line, `${name} is not listed:\n${r.stderr}`);
    assert.match(line, e.reason);
  }
  assert.match(r.stdout, new RegExp(`done at step ${usableA}/${usableA}`));
  assert.deepEqual(await hashTree(data), before, 'an input file changed');
});
