// Picks the fastest backend that loads: native TensorFlow (tfjs-node), then
// wasm, then the pure-JS cpu backend, and records why each better one was not
// taken, so the status bar and the log can say it.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendInfo, BackendName } from '../protocol/server';
import { dtKernelsInstalled, dtKernelsStatus, gemmConvs, kernelsBuildProblem, splitConvs } from './models/layers/nativeKernels';
import { tfjsDirectoryProblem } from './tfjsLocation';

const ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let current: BackendInfo | undefined;

function message(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'MODULE_NOT_FOUND') return 'not installed';
  return (e?.message ?? String(err)).split('\n')[0];
}

async function tryBackend(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    // oneDNN's Conv2D is 10-200x slower for convs with few output channels
    // (the final 7x7 conv to RGB: 10.8 s vs 45 ms at 256 px); read once, at load.
    process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
    // TF's default CPU allocator gets each large tensor fresh from the OS (page
    // faults on every op: 75 ms vs 2 ms for an 8M-element Sub); its BFC
    // allocator reuses memory. pix2pix at 256 px: 3.7 -> 1.8 s per iteration.
    process.env.TF_CPU_ALLOCATOR_USE_BFC ??= 'true';
    // TF's threads barely speed up the convolutions of small maps (3x3, 128 -> 128
    // at 16x16: 0.71 ms on two, 0.40 on one); the DtSplit convolutions give each
    // core its own output rows in a private context with one thread, which
    // needs a thread pool per context instead of TF's one global pool.
    if (dtKernelsInstalled()) process.env.TF_OVERRIDE_GLOBAL_THREADPOOL ??= '1';
    // tfjs-node registers the 'tensorflow' backend on the shared tfjs-core when required.
    require('@tensorflow/tfjs-node');
  } else if (name === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + path.sep);
  }
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  // A real op proves the kernels run, not only that the module loaded.
  const v = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]);
  if (v !== 3) throw new Error(`self-test gave ${v}`);
}

/**
 * Initialise the best available backend. `wanted` (or DOMAIN_TRANSLATOR_BACKEND)
 * forces one; a forced backend that fails is an error, not a silent fallback.
 */
export function initBackend(wanted = process.env.DOMAIN_TRANSLATOR_BACKEND as BackendName | undefined): Promise<BackendInfo> {
  if (current && (!wanted || current.name === wanted)) return Promise.resolve(current);
  // Requests that arrive while the backend starts share one start (two at once break tf.setBackend).
  if (!starting || (wanted && starting.wanted !== wanted)) {
    const promise = start(wanted).finally(() => {
      if (starting?.promise === promise) starting = undefined;
    });
    starting = { wanted, promise };
  }
  return starting.promise;
}

let starting: { wanted: BackendName | undefined; promise: Promise<BackendInfo> } | undefined;

async function start(wanted: BackendName | undefined): Promise<BackendInfo> {
  if (wanted && !ORDER.includes(wanted)) throw new Error(`unknown backend "${wanted}" (use ${ORDER.join(', ')})`);
  const skipped: string[] = tfjsDirectoryProblem ? [`tfjs directory not used: ${tfjsDirectoryProblem}`] : [];
  for (const name of wanted ? [wanted] : ORDER) {
    try {
      await tryBackend(name);
      current = { name, skipped, tfjsVersion: tf.version_core };
      if (name === 'tensorflow') {
        const k = dtKernelsStatus();
        const fma = gemmConvs() ? ', our AVX2+FMA kernels among them' : '';
        current.nativeKernels = !k.loaded ? k.why : splitConvs() ? `loaded; convolutions split over ${os.availableParallelism()} cores${fma}` : 'loaded';
        current.nativeKernelsBuildable = !kernelsBuildProblem();
      }
      return current;
    } catch (err) {
      skipped.push(`${name}: ${message(err)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${skipped.join('; ')})`);
}

export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** Switch to another backend in this process (tests run the same model on native and wasm). */
export async function useBackend(name: BackendName): Promise<BackendInfo> {
  current = undefined;
  return initBackend(name);
}

/** Backends that can start here, for tests that compare them. */
export async function availableBackends(): Promise<BackendName[]> {
  const ok: BackendName[] = [];
  const before = current?.name;
  for (const name of ORDER) {
    try {
      await tryBackend(name);
      ok.push(name);
    } catch {
      /* not available here */
    }
  }
  if (before) await tf.setBackend(before);
  return ok;
}
