// "Build Native Kernels": the addon compiled from the shipped sources against
// tfjs-node's TensorFlow, named for that library and those sources, loaded at
// the next server start; and the clear messages when it cannot be built.
// The server cases run in fresh processes that do not see npm run build's
// dist/dt_kernels.node, as in an installed extension.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cachedKernelsFile, compileKernels, compileProblem, kernelSourceFiles, tfjsNodeDeps } from '../../server/nativeBuild';

const repo = path.resolve(__dirname, '../..');
const native = path.join(repo, 'native');
const deps = tfjsNodeDeps();

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'dt-native-'));
}

/** A fresh server-side process in which dist/dt_kernels.node does not exist; prints its last line's JSON. */
function run(script: string, nativeDir: string): unknown {
  const hidden = path.join(repo, 'dist/dt_kernels.node');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', `
    const fs = require('node:fs');
    const exists = fs.existsSync;
    fs.existsSync = (f) => f !== ${JSON.stringify(hidden)} && exists(f);
    ${script}`], {
    cwd: repo, encoding: 'utf8', env: { ...process.env, DOMAIN_TRANSLATOR_BACKEND: '', DOMAIN_TRANSLATOR_NATIVE_DIR: nativeDir, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

test('the addon is named for the TensorFlow library and the sources: the same twice, another when either changes', () => {
  assert.ok(deps, '@tensorflow/tfjs-node is installed (.ci/run provisions it)');
  const sources = tmp();
  for (const f of kernelSourceFiles(native)) copyFileSync(f, path.join(sources, path.basename(f)));
  const file = cachedKernelsFile('/cache', sources, deps!);
  assert.match(file, /^\/cache\/dt_kernels-[0-9a-f]{16}\.node$/);
  assert.equal(cachedKernelsFile('/cache', sources, deps!), file);
  writeFileSync(path.join(sources, 'dt_common.h'), '// changed\n', { flag: 'a' });
  assert.notEqual(cachedKernelsFile('/cache', sources, deps!), file);
  // another TensorFlow library: a deps folder whose library differs
  const otherDeps = tmp();
  mkdirSync(path.join(otherDeps, 'lib'));
  writeFileSync(path.join(otherDeps, 'lib/libtensorflow.so.2'), 'not this one');
  assert.notEqual(cachedKernelsFile('/cache', native, otherDeps), cachedKernelsFile('/cache', native, deps!));
  rmSync(sources, { recursive: true });
  rmSync(otherDeps, { recursive: true });
});

test('what is missing to build is named: the sources, the C headers, the library, the compiler', async () => {
  assert.ok(deps, '@tensorflow/tfjs-node is installed (.ci/run provisions it)');
  const empty = tmp();
  assert.match(compileProblem(empty, deps!) ?? '', /kernel sources are not in this installation \(dt_kernels\.cc, dt_split_conv\.cc, dt_winograd\.cc, dt_gemm_conv\.cc, dt_conv_to_one\.cc, dt_common\.h missing/);
  mkdirSync(path.join(empty, 'include/tensorflow/c/eager'), { recursive: true });
  writeFileSync(path.join(empty, 'include/tensorflow/c/ops.h'), '');
  assert.match(compileProblem(native, empty) ?? '', /TensorFlow's C headers are not all in .*include \(tensorflow\/c\/tf_status\.h, tensorflow\/c\/tf_tensor\.h, tensorflow\/c\/eager\/c_api\.h missing\)/);
  for (const h of ['tf_status.h', 'tf_tensor.h', 'eager/c_api.h']) writeFileSync(path.join(empty, 'include/tensorflow/c', h), '');
  assert.match(compileProblem(native, empty) ?? '', /no TensorFlow library \(libtensorflow\*\.so\) in .*lib/);
  assert.equal(compileProblem(native, deps!), undefined);
  await assert.rejects(compileKernels(empty, deps!, path.join(empty, 'out.node')), /^Error: cannot build the native kernels: the kernel sources/);

  const out = path.join(empty, 'out/dt_kernels.node');
  const pathVar = process.env.PATH;
  process.env.PATH = empty;
  try {
    await assert.rejects(compileKernels(native, deps!, out), /no C\+\+ compiler \(g\+\+\) on the PATH; install one/);
  } finally {
    process.env.PATH = pathVar;
  }
  assert.deepEqual(readdirSync(path.join(empty, 'out')), [], 'nothing written');
  rmSync(empty, { recursive: true });
});

test('an installed server offers the build, builds the addon, and loads it at its next start', () => {
  assert.ok(deps, '@tensorflow/tfjs-node is installed (.ci/run provisions it)');
  const dir = tmp();
  const before = run(`
    const { initBackend } = require('./server/backend');
    const { buildDtKernels } = require('./server/models/layers/nativeKernels');
    initBackend().then(async (b) => {
      const built = await buildDtKernels();
      console.log(JSON.stringify({ nativeKernels: b.nativeKernels, buildable: b.nativeKernelsBuildable, file: built.file }));
    });`, dir);
  const { nativeKernels, buildable, file } = before as { nativeKernels: string; buildable: boolean; file: string };
  assert.match(nativeKernels, /not built for this TensorFlow library \(run "Domain Translator: Build Native Kernels"\)/);
  assert.equal(buildable, true);
  assert.equal(path.dirname(file), dir);
  assert.ok(existsSync(file));
  assert.deepEqual(readdirSync(dir), [path.basename(file)], 'no temporary file left');

  // The next start loads it: the ops run and equal the portable ones.
  const after = run(`
    const tf = require('@tensorflow/tfjs-core');
    const { initBackend } = require('./server/backend');
    const { dtReflectPad, gemmConvs, kernelsBuildProblem } = require('./server/models/layers/nativeKernels');
    initBackend().then((b) => {
      const x = tf.randomUniform([2, 5, 6, 3]);
      const diff = tf.max(tf.abs(tf.sub(dtReflectPad(x, 2), tf.mirrorPad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], 'reflect')))).dataSync()[0];
      console.log(JSON.stringify({ nativeKernels: b.nativeKernels, buildable: b.nativeKernelsBuildable, why: kernelsBuildProblem(), diff, gemm: gemmConvs() }));
    });`, dir) as { gemm: boolean };
  const fma = after.gemm ? ', our AVX2+FMA kernels among them' : '';
  assert.deepEqual(after, { nativeKernels: `loaded; convolutions split over ${os.availableParallelism()} cores${fma}`, buildable: false, why: 'they are already loaded', diff: 0, gemm: after.gemm });
  rmSync(dir, { recursive: true });
});
