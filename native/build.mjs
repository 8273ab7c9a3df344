// Builds dist/dt_kernels.node (native/dt_kernels.cc) against the TensorFlow
// C library tfjs-node brought. Without tfjs-node there is nothing to add
// kernels to: the build says so and the server runs the portable ops.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const sources = ['dt_kernels.cc', 'dt_split_conv.cc'].map((f) => path.join(root, 'native', f));
const headers = [path.join(root, 'native/dt_common.h')];
const out = path.join(root, 'dist/dt_kernels.node');

let deps;
try {
  deps = path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json')), 'deps');
} catch {
  console.log('native kernels: @tensorflow/tfjs-node is not installed, skipped (the portable ops run instead)');
  process.exit(0);
}
const nodeInclude = [path.resolve(path.dirname(process.execPath), '../include/node'), '/usr/include/node'].find((d) => existsSync(path.join(d, 'node_api.h')));
if (!existsSync(path.join(deps, 'include/tensorflow/c/kernels.h')) || !nodeInclude) {
  console.log(`native kernels: ${nodeInclude ? 'TensorFlow C headers' : "Node's headers (node_api.h)"} not found, skipped`);
  process.exit(0);
}
if (existsSync(out) && [...sources, ...headers].every((f) => statSync(out).mtimeMs > statSync(f).mtimeMs)) process.exit(0);
try {
  execFileSync('g++', ['--version'], { stdio: 'ignore' });
} catch {
  console.log('native kernels: no g++ to compile them, skipped (the portable ops run instead)');
  process.exit(0);
}

mkdirSync(path.dirname(out), { recursive: true });
const lib = path.join(deps, 'lib');
execFileSync('g++', ['-O3', '-std=c++17', '-shared', '-fPIC', '-pthread', '-Wall', '-Wextra',
  `-I${nodeInclude}`, `-I${path.join(deps, 'include')}`, ...sources, '-o', out,
  `-L${lib}`, '-ltensorflow', '-ltensorflow_framework', `-Wl,-rpath,${lib}`], { stdio: 'inherit' });
console.log(`native kernels: built ${path.relative(root, out)}`);
