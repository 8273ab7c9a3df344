// `domain-translator train` end to end: 3 steps into a run folder, resume to 5,
// and the run's G_A checkpoint loads as a generator for translate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadGenerator } from '../../server/models/loadModel';
import { trainRequest } from '../../server/cli/train';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const DATA = path.resolve(REPO, '../shared/datasets');

function cli(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', path.join(REPO, 'server/cli.ts'), ...args], { cwd: REPO, timeout: 300_000 });
}

test('train CLI: flags map to official option names; bad flags are usage errors', () => {
  const r = trainRequest(['data', '--model', 'pix2pix', '--lambda-L1', '50', '--no-flip', '--crop-size', '128', '--direction', 'BtoA']);
  assert.notEqual(r, 'help');
  if (r === 'help') return;
  assert.deepEqual([r.model, r.lambda_L1, r.no_flip, r.crop_size, r.direction, r.dataroot], ['pix2pix', 50, true, 128, 'BtoA', 'data']);
  assert.throws(() => trainRequest(['data', '--iterations', '3', '--epochs', '1']), /--iterations or --epochs/);
  assert.throws(() => trainRequest(['data', '--model', 'unit']), /--model must be one of cyclegan, pix2pix/);
  assert.throws(() => trainRequest(['data', '--ngf', 'x']), /--ngf must be an integer/);
  assert.throws(() => trainRequest([]), /missing <dataset-dir>/);
});

test('train CLI: 3 steps, resume to 5, G_A loads as a generator', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dt-cli-')), 'run');
  const common = ['--crop-size', '32', '--load-size', '36', '--ngf', '8', '--ndf', '8', '--print-every', '1', '--save-every', '10'];
  const first = await cli(['train', path.join(DATA, 'horse2zebra-mini'), '--iterations', '3', '--run', dir, ...common]);
  assert.match(first.stdout, /cyclegan \(resnet_6blocks, ngf 8, 32 px\)/);
  assert.match(first.stdout, /step 3\/3 epoch 1 .* D_A \d/);
  assert.match(first.stdout, /done at step 3\/3/);
  const second = await cli(['train', '--resume', '--run', dir, '--iterations', '5']);
  assert.match(second.stdout, /step 5\/5/);
  assert.doesNotMatch(second.stdout, /step 3\/5/);
  const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number });
  assert.deepEqual(log.map((l) => l.step), [1, 2, 3, 4, 5]);
  const options = JSON.parse(fs.readFileSync(path.join(dir, 'options.json'), 'utf8')) as { iterations: number; ngf: number };
  assert.deepEqual([options.iterations, options.ngf], [5, 8]);
  const { summary, generator } = await loadGenerator(path.join(dir, 'checkpoints/latest/latest_net_G_A.pth'), 'AtoB');
  assert.equal(summary.architecture, 'resnet_6blocks');
  assert.equal(summary.ngf, 8);
  generator.dispose();
  const bad = await cli(['train', path.join(DATA, 'horse2zebra-mini'), '--model', 'pix2pix', '--run', dir + '-x']).catch((e: { code: number; stderr: string }) => e);
  assert.equal((bad as { code: number }).code, 1);
  assert.match((bad as { stderr: string }).stderr, /pix2pix needs paired images/);
});
