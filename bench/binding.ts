// Timing at tfjs-node's binding, which every TF op of the tensorflow backend
// passes through (bench/profile.ts, bench/gaps.ts).
import * as tf from '@tensorflow/tfjs-core';

type ExecuteOp = (name: string, ...rest: unknown[]) => unknown;

/**
 * Routes the backend's binding.executeOp through `wrap`, which gets the
 * original to call; false where the backend has no binding (wasm, cpu).
 */
export function interceptExecuteOp(wrap: (original: ExecuteOp, name: string, ...rest: unknown[]) => unknown): boolean {
  const backend = tf.backend() as unknown as { binding?: { executeOp?: ExecuteOp } };
  const binding = backend.binding;
  if (!binding?.executeOp) return false;
  const original = binding.executeOp.bind(binding);
  // the binding's properties are read-only: the backend gets an object inheriting from it
  backend.binding = Object.defineProperty(Object.create(binding) as object, 'executeOp', { value: (name: string, ...rest: unknown[]) => wrap(original, name, ...rest) });
  return true;
}
