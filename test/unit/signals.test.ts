// Signals while TensorFlow computes. oneDNN's JIT sgemm (TF's MatMul and
// Conv2D) points rsp into the heap while it runs, so a signal handled on that
// thread writes its frame into the heap: without the addon's blocking this
// child aborted with "corrupted size vs. prev_size" after 50-130 signals
// (uxlfoundation/oneDNN#4845). The CLI's Ctrl-C handler is one such handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

function node(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, output: () => out, exited };
}

test('a signal handler running while TensorFlow multiplies matrices corrupts nothing', async () => {
  const child = node([path.join(__dirname, 'support/signalledOps.ts'), '2500']);
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const started = setInterval(() => {
    if (!timer && child.output().includes('ready')) {
      timer = setInterval(() => child.proc.kill('SIGUSR2') && sent++, 1);
    }
    if (/^done /m.test(child.output())) {
      clearInterval(timer);
      clearInterval(started);
    }
  }, 5);
  const { code, signal } = await child.exited;
  clearInterval(timer);
  clearInterval(started);
  const out = child.output();
  if (out.includes('unavailable:')) return; // no tfjs-node here: nothing runs oneDNN
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, out.slice(-2000));
  const [ops, handled, mismatches] = out.match(/^done (\d+) (\d+) (\d+)$/m)!.slice(1).map(Number);
  assert.ok(handled >= 300, `only ${handled} of ${sent} signals were handled`);
  assert.ok(ops >= 100, `${ops} products`);
  assert.equal(mismatches, 0, 'a product differed from the one computed before the signals');
});

/** `domain-translator train` on a tiny CycleGAN, SIGINT once step `afterStep` is printed. */
async function trainCtrlC(afterStep: number, extra: string[], env: NodeJS.ProcessEnv = process.env) {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dt-sigint-')), 'run');
  const args = ['--iterations', '400', '--run', dir, '--crop-size', '32', '--load-size', '36', '--ngf', '8', '--ndf', '8', '--print-every', '1', '--save-every', '1000', ...extra];
  const child = node([path.join(REPO, 'server/cli.ts'), 'train', path.resolve(REPO, '../shared/datasets/horse2zebra-mini'), ...args], env);
  const printed = new RegExp(`^step ${afterStep}/`, 'm');
  const poll = setInterval(() => {
    if (printed.test(child.output())) {
      child.proc.kill('SIGINT');
      clearInterval(poll);
    }
  }, 5);
  const exit = await child.exited;
  clearInterval(poll);
  return { dir, exit, out: child.output() };
}

test('train CLI: Ctrl-C saves a checkpoint at the next step and stops', async () => {
  const { dir, exit, out } = await trainCtrlC(2, []);
  assert.equal(exit.code, 0, out.slice(-2000));
  assert.match(out, /stopping after this step \(checkpoint is being saved\)/);
  const step = Number(out.match(/stopped at step (\d+)\/400/)?.[1]);
  assert.ok(step >= 2 && step < 400, out.slice(-500));
  const latest = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints/latest/state.json'), 'utf8')) as { step: number };
  assert.equal(latest.step, step);
});

test('train CLI without the native kernels: Ctrl-C ends the process at once, as it says', async () => {
  const { exit, out } = await trainCtrlC(1, ['--backend', 'tensorflow'], { ...process.env, DOMAIN_TRANSLATOR_NATIVE_KERNELS: '0' });
  if (/backend: unknown|tensorflow: not installed/.test(out)) return; // no tfjs-node here
  assert.match(out, /note: Ctrl-C ends the process at once: without the native kernels a signal handler can corrupt memory/);
  assert.deepEqual(exit, { code: null, signal: 'SIGINT' }, out.slice(-1000));
  assert.doesNotMatch(out, /stopping after this step/);
});
