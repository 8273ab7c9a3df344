// Checkpoints are atomic and complete, and resuming continues exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { findCheckpoint, validCheckpointStep } from '../../server/train/checkpoint';
import { startTraining, type StartTrainingRequest } from '../../server/train/session';
import type { StepRecord } from '../../server/train/run';

const DATA = path.resolve(__dirname, '../../../shared/datasets');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `dt-${name}-`));

// pool_size 2 so that the pool is full from step 3 on and its random swaps matter.
const base: StartTrainingRequest = {
  dataroot: path.join(DATA, 'horse2zebra-mini'),
  crop_size: 32,
  load_size: 36,
  ngf: 8,
  ndf: 8,
  netG: 'resnet_6blocks',
  pool_size: 2,
  batch_size: 1,
  seed: 11,
  print_every: 1,
  sample_every: 100,
  save_every: 2,
  keep_every: 2,
};

async function train(req: StartTrainingRequest): Promise<StepRecord[]> {
  const records: StepRecord[] = [];
  await startTraining(req, { onStep: (r) => records.push(r) });
  return records;
}

function copyWithoutLatest(run: string, dest: string): void {
  fs.cpSync(run, dest, { recursive: true });
  fs.rmSync(path.join(dest, 'checkpoints', 'latest'), { recursive: true });
}

test('resuming from a checkpoint continues exactly: two resumes and the uninterrupted run agree', async () => {
  const root = tmp('resume');
  const run = path.join(root, 'full');
  const straight = await train({ ...base, iterations: 5, run });
  assert.deepEqual(straight.map((r) => r.step), [1, 2, 3, 4, 5]);
  assert.equal(await validCheckpointStep(path.join(run, 'checkpoints', 'step-2')), 2);
  assert.equal(await validCheckpointStep(path.join(run, 'checkpoints', 'step-4')), 4);

  const r1 = path.join(root, 'r1');
  const r2 = path.join(root, 'r2');
  copyWithoutLatest(run, r1);
  copyWithoutLatest(run, r2);
  for (const r of [r1, r2]) fs.rmSync(path.join(r, 'checkpoints', 'step-4'), { recursive: true });
  const before = tf.memory().numTensors;
  const a = await train({ dataroot: '', run: r1, resume: true, iterations: 5 });
  assert.equal(tf.memory().numTensors, before, 'a whole resumed run leaves no tensor behind');
  const b = await train({ dataroot: '', run: r2, resume: true, iterations: 5 });
  assert.deepEqual(a.map((r) => r.step), [3, 4, 5]);
  assert.deepEqual(a.map((r) => r.losses), b.map((r) => r.losses));
  assert.deepEqual(a.map((r) => r.losses), straight.slice(2).map((r) => r.losses));
  assert.deepEqual(a.map((r) => r.lr), straight.slice(2).map((r) => r.lr));
  // a finished run resumed to the same total does nothing more
  const again = await train({ dataroot: '', run: r1, resume: true, iterations: 5 });
  assert.deepEqual(again, []);
});

test('a half-written or altered checkpoint is never loaded; the previous complete one is', async () => {
  const run = path.join(tmp('atomic'), 'run');
  await train({ ...base, iterations: 4, run });
  const cks = path.join(run, 'checkpoints');
  assert.deepEqual((await findCheckpoint(cks))?.step, 4);

  // a kill while writing leaves a temporary folder with some files and no manifest
  const partial = path.join(cks, '.tmp-latest-999-abcdef');
  fs.mkdirSync(partial);
  fs.copyFileSync(path.join(cks, 'latest', 'latest_net_G_A.pth'), path.join(partial, 'latest_net_G_A.pth'));
  assert.equal(await validCheckpointStep(partial), undefined);
  assert.equal((await findCheckpoint(cks))?.dir, path.join(cks, 'latest'));

  // a file altered after the manifest was written invalidates latest: the kept step-4 copy is used
  const f = path.join(cks, 'latest', 'optimizer_G.pth');
  const bytes = fs.readFileSync(f);
  bytes[bytes.length - 30] ^= 0xff;
  fs.writeFileSync(f, bytes);
  assert.equal(await validCheckpointStep(path.join(cks, 'latest')), undefined);
  assert.equal((await findCheckpoint(cks))?.dir, path.join(cks, 'step-4'));
  // without its manifest step-4 is not a checkpoint either: step-2 is the most advanced complete one
  fs.rmSync(path.join(cks, 'step-4', 'manifest.json'));
  assert.equal((await findCheckpoint(cks))?.dir, path.join(cks, 'step-2'));

  // a kill between the two renames of a swap leaves the previous latest under .old-…: still found
  fs.rmSync(path.join(cks, 'latest'), { recursive: true });
  fs.renameSync(path.join(cks, 'step-2'), path.join(cks, '.old-latest-1-aaaaaa'));
  assert.equal((await findCheckpoint(cks))?.dir, path.join(cks, '.old-latest-1-aaaaaa'));
  const resumed = await train({ dataroot: '', run, resume: true, iterations: 5 });
  assert.deepEqual(resumed.map((r) => r.step), [3, 4, 5]);
  assert.equal(await validCheckpointStep(path.join(cks, 'latest')), 5);
  assert.deepEqual(fs.readdirSync(cks).filter((n) => n.startsWith('.')), [], 'leftovers of the kills are cleaned up');
});

test('a new run refuses a folder that already holds a run; resume needs a checkpoint', async () => {
  const run = path.join(tmp('refuse'), 'run');
  await train({ ...base, iterations: 1, run });
  await assert.rejects(train({ ...base, iterations: 2, run }), /already holds a training run/);
  const empty = tmp('empty');
  await assert.rejects(train({ dataroot: '', run: empty, resume: true }), /no options\.json/);
});

test('pix2pix with dropout and BatchNorm resumes exactly (seeded masks, running statistics in the checkpoint)', async () => {
  const root = tmp('resume-p2p');
  const run = path.join(root, 'full');
  const req: StartTrainingRequest = {
    dataroot: path.join(DATA, 'facades'),
    model: 'pix2pix',
    direction: 'BtoA',
    crop_size: 128,
    load_size: 136,
    ngf: 8,
    ndf: 8,
    netG: 'unet_128',
    seed: 5,
    print_every: 1,
    sample_every: 100,
    save_every: 2,
    keep_every: 2,
  };
  const straight = await train({ ...req, iterations: 4, run });
  const copy = path.join(root, 'copy');
  copyWithoutLatest(run, copy);
  fs.rmSync(path.join(copy, 'checkpoints', 'step-4'), { recursive: true });
  const resumed = await train({ dataroot: '', run: copy, resume: true, iterations: 4 });
  assert.deepEqual(resumed.map((r) => r.step), [3, 4]);
  assert.deepEqual(resumed.map((r) => r.losses), straight.slice(2).map((r) => r.losses));
});
