// Runs `domain-translator` as a user would: the built dist/cli.js (the bin in
// package.json) as a subprocess, checking exit codes, the one-line errors and
// the files it writes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { hashTree } from './support/badImageCorpus';

const repo = path.resolve(__dirname, '../..');
const shared = path.resolve(repo, '../shared');
const fixture = path.join(shared, 'fixtures/pytorch/resnet_6blocks_ngf32.pth');
const testA = path.join(shared, 'datasets/horse2zebra-mini/testA');
const { version } = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };

interface Run { code: number | null; stdout: string; stderr: string }

/** `domain-translator ...args` from the bundle; as "nobody" when asked and running as root. */
function cli(args: string[], options: { asNobody?: boolean } = {}): Promise<Run> {
  const ids = options.asNobody && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repo, 'dist/cli.js'), args, { cwd: repo, ...ids });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A failure must be exactly one line `domain-translator: <reason>` on stderr. */
function assertOneLineError(r: Run, code: number, reason: RegExp) {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^domain-translator: /);
  assert.match(lines[0], reason);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'stack trace printed');
}

let root: string;
before(async () => {
  // The project's own build (esbuild.mjs), so the test covers the shipped bin with its #! line.
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repo, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-'));
  await fs.chmod(root, 0o777); // the permission test runs the CLI as "nobody"
});
after(() => fs.rm(root, { recursive: true, force: true }));

describe('domain-translator', () => {
  test('--version and --help', async () => {
    const v = await cli(['--version']);
    assert.deepEqual([v.code, v.stdout.trim()], [0, version]);
    const h = await cli(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /translate\s+translate a folder/);
    const th = await cli(['translate', '--help']);
    assert.equal(th.code, 0);
    assert.match(th.stdout, /--model <path>/);
    assert.match(th.stdout, /--keep-size/);
  });

  test('usage errors exit 2 with one line', async () => {
    assertOneLineError(await cli([]), 2, /missing command/);
    assertOneLineError(await cli(['frobnicate']), 2, /unknown command "frobnicate"/);
    assertOneLineError(await cli(['translate', root, '--model', fixture, '--bogus']), 2, /unknown option --bogus/);
    assertOneLineError(await cli(['translate', root, '--model']), 2, /--model needs a value/);
    assertOneLineError(await cli(['translate', root]), 2, /missing --model/);
    assertOneLineError(await cli(['translate', root, '--model', fixture, '--direction', 'sideways']), 2, /--direction must be one of AtoB, BtoA/);
    assertOneLineError(await cli(['translate', root, '--model', fixture, '--backend', 'gpu']), 2, /--backend must be one of/);
  });

  test('a missing folder and a corrupt .pth exit 1 with one line naming the problem; nothing is written', async () => {
    const missing = path.join(root, 'no-such-folder');
    assertOneLineError(await cli(['translate', missing, '--model', fixture]), 1, /no-such-folder: no such file or folder/);
    const inputs = path.join(root, 'in-corrupt-pth');
    await fs.mkdir(inputs);
    await fs.copyFile(path.join(testA, (await fs.readdir(testA)).sort()[0]), path.join(inputs, 'h.jpg'));
    const bad = path.join(root, 'corrupt.pth');
    await fs.writeFile(bad, (await fs.readFile(fixture)).subarray(0, 4096));
    assertOneLineError(await cli(['translate', inputs, '--model', bad]), 1, /corrupt\.pth/);
    const garbage = path.join(root, 'garbage.pth');
    await fs.writeFile(garbage, 'definitely not a checkpoint');
    assertOneLineError(await cli(['translate', inputs, '--model', garbage]), 1, /garbage\.pth/);
    const discriminator = path.join(shared, 'fixtures/pytorch/patchgan_basic_ndf16_in6_batch_eval.pth');
    assertOneLineError(await cli(['translate', inputs, '--model', discriminator]), 1, /patchgan_basic_ndf16_in6_batch_eval\.pth: is a basic discriminator, not a generator/);
    assert.deepEqual((await fs.readdir(root)).filter((n) => n.includes('-to-')), []);
  });

  test('translates a folder with images, a corrupt image, an unreadable file and a text file; prints backend and summary', async () => {
    const inputs = path.join(root, 'mixed');
    await fs.mkdir(inputs);
    const names = (await fs.readdir(testA)).sort().slice(0, 2);
    for (const n of names) await fs.copyFile(path.join(testA, n), path.join(inputs, n));
    await fs.writeFile(path.join(inputs, 'broken.jpg'), (await fs.readFile(path.join(testA, names[0]))).subarray(0, 3000));
    await sharp(path.join(testA, names[0])).png().toFile(path.join(inputs, 'locked.png'));
    await fs.chmod(path.join(inputs, 'locked.png'), 0o000);
    await fs.writeFile(path.join(inputs, 'notes.txt'), 'hello');
    const hashes = await hashTree(inputs);

    const r = await cli(['translate', inputs, '--model', fixture], { asNobody: true });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await hashTree(inputs), hashes, 'input folder changed');
    // on tfjs-node the line also says whether our native kernels loaded
    assert.match(r.stderr, /^backend: (tensorflow \(tfjs 4\.22\.0; native kernels: loaded(; convolutions split over \d+ cores(, our AVX2\+FMA kernels among them)?)?\)|(wasm|cpu) \(tfjs 4\.22\.0\))/m);
    assert.match(r.stderr, /^4\/4 images · [\d.]+ images\/s$/m, 'progress lines (not a TTY)');
    assert.match(r.stdout, new RegExp(`^translated 2 images → ${inputs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-to-B `, 'm'));
    assert.match(r.stdout, /^unreadable 2:$/m);
    assert.match(r.stdout, /^ {2}broken\.jpg: corrupt or truncated JPEG data/m);
    assert.match(r.stdout, /^ {2}locked\.png: permission denied$/m);
    assert.match(r.stdout, /^non-images skipped: 1$/m);
    assert.match(r.stdout, /model: resnet_6blocks generator, ngf 32, instance norm/);
    assert.deepEqual((await fs.readdir(`${inputs}-to-B`)).sort(), names.map((n) => n.replace(/\.jpg$/, '.png')));
  });

  test('--out, --keep-size and --direction BtoA', async () => {
    const inputs = path.join(root, 'odd');
    await fs.mkdir(inputs);
    await sharp(path.join(testA, (await fs.readdir(testA)).sort()[3])).resize(250, 190, { fit: 'fill' }).png().toFile(path.join(inputs, 'odd.png'));
    const out = path.join(root, 'chosen', 'out');
    const r = await cli(['translate', path.join(inputs, 'odd.png'), '--model', fixture, '--out', out, '--keep-size', '--direction', 'BtoA']);
    assert.equal(r.code, 0, r.stderr);
    const m = await sharp(path.join(out, 'odd.png')).metadata();
    assert.deepEqual([m.width, m.height], [250, 190]);
    // Again into the same --out: refuses to overwrite, and the file is untouched.
    const before = await fs.readFile(path.join(out, 'odd.png'));
    assertOneLineError(await cli(['translate', inputs, '--model', fixture, '--out', out]), 1, /already holds odd\.png.*never overwrites/);
    assert.deepEqual(await fs.readFile(path.join(out, 'odd.png')), before);
    // Default folder for BtoA is <folder>-to-A.
    const toA = await cli(['translate', inputs, '--model', fixture, '--direction', 'BtoA']);
    assert.equal(toA.code, 0, toA.stderr);
    assert.deepEqual(await fs.readdir(`${inputs}-to-A`), ['odd.png']);
  });

  test('a folder without images exits 1 and creates no output folder', async () => {
    const inputs = path.join(root, 'text-only');
    await fs.mkdir(inputs);
    await fs.writeFile(path.join(inputs, 'a.txt'), 'a');
    const r = await cli(['translate', inputs, '--model', fixture]);
    assertOneLineError(r, 1, /no images in .*text-only \(1 non-image files\)$/);
    assert.equal(await fs.stat(`${inputs}-to-B`).then(() => true, () => false), false);
  });
});
