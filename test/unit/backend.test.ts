// Backend choice: concurrent starts share one start, and the reasons a better
// backend was not taken are reported. Each case runs in a fresh process,
// since a process picks its backend once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '../..');

function run(script: string, env: NodeJS.ProcessEnv = {}): unknown {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: repo, encoding: 'utf8', env: { ...process.env, DOMAIN_TRANSLATOR_BACKEND: '', ...env },
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

// Makes require('@tensorflow/tfjs-node') fail as it does where it is not installed.
const hideTfjsNode = `
  const Module = require('node:module');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    if (request === '@tensorflow/tfjs-node') throw Object.assign(new Error('not found'), { code: 'MODULE_NOT_FOUND' });
    return resolve.call(this, request, ...rest);
  };`;

test('requests arriving while the backend starts share one start and get the same backend', () => {
  const result = run(`${hideTfjsNode}
    const { initBackend } = require('./server/backend');
    Promise.all([initBackend(), initBackend(), initBackend()]).then((all) =>
      console.log(JSON.stringify({ names: all.map((b) => b.name), skipped: all[0].skipped })));`);
  assert.deepEqual(result, { names: ['wasm', 'wasm', 'wasm'], skipped: ['tensorflow: not installed'] });
});

test('a tfjs directory without tfjs-core, or with another version, is reported and not used', () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'dt-tfjs-dir-'));
  const other = mkdtempSync(path.join(os.tmpdir(), 'dt-tfjs-dir-'));
  mkdirSync(path.join(other, 'node_modules/@tensorflow/tfjs-core'), { recursive: true });
  writeFileSync(path.join(other, 'node_modules/@tensorflow/tfjs-core/package.json'), '{"version": "3.0.0"}');
  const script = `require('./server/tfjsLocation');
    require('./server/backend').initBackend('cpu').then((b) => console.log(JSON.stringify(b.skipped)));`;
  assert.deepEqual(run(script, { DOMAIN_TRANSLATOR_TFJS_DIR: empty }),
    [`tfjs directory not used: ${empty}: no node_modules/@tensorflow/tfjs-core there`]);
  assert.deepEqual(run(script, { DOMAIN_TRANSLATOR_TFJS_DIR: other }),
    [`tfjs directory not used: ${other}: has tfjs-core 3.0.0, needs 4.22.0`]);
});

test('with a valid tfjs directory every @tensorflow module resolves from it, others as usual', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dt-tfjs-dir-'));
  const core = path.join(dir, 'node_modules/@tensorflow/tfjs-core');
  mkdirSync(core, { recursive: true });
  writeFileSync(path.join(core, 'package.json'), '{"version": "4.22.0", "main": "index.js"}');
  writeFileSync(path.join(core, 'index.js'), 'module.exports = {};');
  const result = run(`require('./server/tfjsLocation');
    console.log(JSON.stringify([require.resolve('@tensorflow/tfjs-core'), require.resolve('@tensorflow/tfjs-backend-cpu'),
      require.resolve('sharp')]));`, { DOMAIN_TRANSLATOR_TFJS_DIR: dir });
  assert.deepEqual(result, [path.join(core, 'index.js'),
    path.join(repo, 'node_modules/@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.node.js'),
    path.join(repo, 'node_modules/sharp/lib/index.js')]);
});
