// Compiles the native kernels (native/*.cc, SOURCES below) into a Node addon against
// the TensorFlow C library of the tfjs-node in use. `npm run build` puts it in
// dist/; the "Build Native Kernels" command builds it for an installed
// extension, whose tfjs-node is in the user's tfjs folder. An addon fits one
// TensorFlow library only, so the command's copy is named by a hash of that
// library and of the sources, and a changed library or extension makes a new one.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SOURCES = ['dt_kernels.cc', 'dt_split_conv.cc', 'dt_winograd.cc', 'dt_gemm_conv.cc', 'dt_conv_to_one.cc'];
/**
 * -fno-trapping-math lets g++ vectorize a select such as `z > 0 ? z : z * slope`
 * without AVX-512's masked operations: on an AVX2 CPU the instance norm's
 * loops ran scalar without it, 6-13x slower. It changes no value.
 */
const FLAGS = ['-O3', '-std=c++17', '-fno-trapping-math', '-shared', '-fPIC', '-pthread', '-Wall', '-Wextra'];
const HEADERS = ['dt_common.h'];
/** The TensorFlow C headers the sources include (the kernel API of kernels.h is declared in dt_common.h). */
const TF_HEADERS = ['tensorflow/c/ops.h', 'tensorflow/c/tf_status.h', 'tensorflow/c/tf_tensor.h', 'tensorflow/c/eager/c_api.h'];

/** Sources and headers, whose change makes the addon stale. */
export function kernelSourceFiles(nativeDir: string): string[] {
  return [...SOURCES, ...HEADERS].map((f) => path.join(nativeDir, f));
}

/** tfjs-node's deps folder (TensorFlow's C library and headers), or undefined when tfjs-node is not installed. */
export function tfjsNodeDeps(): string | undefined {
  try {
    return path.join(path.dirname(require.resolve('@tensorflow/tfjs-node/package.json')), 'deps');
  } catch {
    return undefined;
  }
}

/** The TensorFlow shared libraries in deps/lib, each once (the versioned names are symlinks). */
function tfLibraries(deps: string): string[] {
  const lib = path.join(deps, 'lib');
  const names = fs.existsSync(lib) ? fs.readdirSync(lib).filter((f) => /^libtensorflow.*\.so/.test(f)) : [];
  return [...new Set(names.map((f) => fs.realpathSync(path.join(lib, f))))].sort();
}

/** Where the command's addon for this TensorFlow library, these sources and flags lives in `dir`. */
export function cachedKernelsFile(dir: string, nativeDir: string, deps: string): string {
  const hash = createHash('sha256');
  hash.update(FLAGS.join(' '));
  for (const f of kernelSourceFiles(nativeDir)) hash.update(fs.readFileSync(f));
  for (const lib of tfLibraries(deps)) {
    const st = fs.statSync(lib);
    hash.update(`${lib} ${st.size} ${st.mtimeMs}`);
  }
  return path.join(dir, `dt_kernels-${hash.digest('hex').slice(0, 16)}.node`);
}

/** Why the addon cannot be compiled from `nativeDir` against `deps`, or undefined when it can. */
export function compileProblem(nativeDir: string, deps: string): string | undefined {
  const missing = kernelSourceFiles(nativeDir).filter((f) => !fs.existsSync(f));
  if (missing.length) return `the kernel sources are not in this installation (${missing.map((f) => path.basename(f)).join(', ')} missing from ${nativeDir})`;
  const headers = TF_HEADERS.filter((h) => !fs.existsSync(path.join(deps, 'include', h)));
  if (headers.length) return `TensorFlow's C headers are not all in ${path.join(deps, 'include')} (${headers.join(', ')} missing)`;
  if (!tfLibraries(deps).length) return `no TensorFlow library (libtensorflow*.so) in ${path.join(deps, 'lib')}`;
  return undefined;
}

/**
 * Compiles the addon to `out` (written whole or not at all); resolves with the
 * compiler's warnings, rejects with what stopped it.
 */
export async function compileKernels(nativeDir: string, deps: string, out: string): Promise<string> {
  const problem = compileProblem(nativeDir, deps);
  if (problem) throw new Error(`cannot build the native kernels: ${problem}`);
  const lib = path.join(deps, 'lib');
  const tmp = `${out}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const args = [...FLAGS, `-I${path.join(deps, 'include')}`,
    ...SOURCES.map((f) => path.join(nativeDir, f)), '-o', tmp, `-L${lib}`, '-ltensorflow', '-ltensorflow_framework', `-Wl,-rpath,${lib}`];
  const warnings = await new Promise<string>((resolve, reject) => {
    execFile('g++', args, { maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (!err) return resolve(stderr);
      fs.rmSync(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('cannot build the native kernels: no C++ compiler (g++) on the PATH; install one (Debian/Ubuntu: apt install g++) and build again'));
      } else {
        reject(new Error(`cannot build the native kernels: g++ failed:\n${stderr.trim().split('\n').slice(-20).join('\n')}`));
      }
    });
  });
  fs.renameSync(tmp, out);
  return warnings;
}
