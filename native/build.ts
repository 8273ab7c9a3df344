// Builds dist/dt_kernels.node (native/*.cc) against the TensorFlow C library
// tfjs-node brought. Without tfjs-node there is nothing to add kernels to: the
// build says so and the server runs the portable ops.
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { compileKernels, compileProblem, kernelSourceFiles, tfjsNodeDeps } from '../server/nativeBuild';

const root = path.resolve(__dirname, '..');
const nativeDir = path.join(root, 'native');
const out = path.join(root, 'dist/dt_kernels.node');

(async () => {
  const deps = tfjsNodeDeps();
  if (!deps) return console.log('native kernels: @tensorflow/tfjs-node is not installed, skipped (the portable ops run instead)');
  const problem = compileProblem(nativeDir, deps);
  if (problem) return console.log(`native kernels: ${problem}, skipped`);
  // the compiler's flags are in nativeBuild.ts: a change there makes the addon stale too
  const inputs = [...kernelSourceFiles(nativeDir), path.join(root, 'server/nativeBuild.ts')];
  if (existsSync(out) && inputs.every((f) => statSync(out).mtimeMs > statSync(f).mtimeMs)) return;
  try {
    const warnings = await compileKernels(nativeDir, deps, out);
    if (warnings) console.log(warnings);
    console.log(`native kernels: built ${path.relative(root, out)}`);
  } catch (err) {
    // no compiler is not a failed build: the server runs the portable ops
    if (/no C\+\+ compiler/.test((err as Error).message)) return console.log(`native kernels: ${(err as Error).message}; skipped`);
    throw err;
  }
})().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
