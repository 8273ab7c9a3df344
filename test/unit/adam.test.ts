// Adam against torch.optim.Adam's formula computed in float64 here, on every
// backend (tfjs-node runs the fused ResourceApplyAdam path, wasm/cpu the
// element-wise one): several steps, a parameter assigned from outside between
// steps (as a checkpoint load does), a parameter whose tensor is shared, and
// the saved moments restored into a fresh optimiser.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, useBackend } from '../../server/backend';
import { Adam } from '../../server/train/adam';
import type { BackendName } from '../../protocol/server';

let backends: BackendName[] = [];
before(async () => {
  backends = await availableBackends();
});

const CFG = { beta1: 0.5, beta2: 0.999, eps: 1e-8 };

function seeded(n: number, seed: number, scale: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * scale);
}

/** PyTorch's single-tensor Adam in float64. */
class ReferenceAdam {
  m: Float64Array;
  v: Float64Array;
  constructor(
    public p: Float64Array,
    public t = 0,
  ) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }
  step(g: Float64Array, lr: number): void {
    this.t += 1;
    const { beta1, beta2, eps } = CFG;
    const bc1 = 1 - beta1 ** this.t;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.t);
    for (let i = 0; i < g.length; i++) {
      this.m[i] += (g[i] - this.m[i]) * (1 - beta1);
      this.v[i] = this.v[i] * beta2 + (1 - beta2) * g[i] * g[i];
      this.p[i] -= ((lr / bc1) * this.m[i]) / (Math.sqrt(this.v[i]) / bc2Sqrt + eps);
    }
  }
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(b[i])));
  return worst;
}

describe('Adam', () => {
  test('matches torch.optim.Adam (float64) over 6 steps, an outside assign, a shared tensor and a state restore, on every backend', async () => {
    assert.ok(backends.includes('cpu'), 'the cpu backend is always available');
    for (const backend of backends) {
      await useBackend(backend);
      const shapes: Record<string, number[]> = { w: [3, 3, 4, 8], b: [8], big: [64, 257] };
      const init = Object.fromEntries(Object.entries(shapes).map(([k, s], i) => [k, seeded(s.reduce((x, y) => x * y), i + 1, 0.04)]));
      const params = new Map(Object.entries(shapes).map(([k, s]) => [k, tf.variable(tf.tensor(Float32Array.from(init[k]), s), true, `${backend}-${k}`)]));
      const ref = Object.fromEntries(Object.keys(shapes).map((k) => [k, new ReferenceAdam(Float64Array.from(Float32Array.from(init[k])))]));
      const adam = new Adam(params, CFG);
      const tensorsBefore = tf.memory().numTensors;
      const shared = tf.clone(params.get('b')!); // shares the variable's data until the variable changes
      const sharedBefore = Array.from(shared.dataSync());

      for (let step = 1; step <= 6; step++) {
        if (step === 4) {
          // as loading a checkpoint into the networks does
          const loaded = seeded(params.get('w')!.size, 77, 0.1);
          const t = tf.tensor(Float32Array.from(loaded), shapes.w);
          params.get('w')!.assign(t);
          t.dispose();
          ref.w.p = Float64Array.from(Float32Array.from(loaded));
        }
        const gradsF64 = Object.fromEntries(Object.entries(shapes).map(([k], i) => [k, Float64Array.from(Float32Array.from(seeded(ref[k].p.length, 100 * step + i, 2 ** -step)))]));
        const grads = tf.tidy(() => Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.tensor(Float32Array.from(gradsF64[k]), s)])));
        adam.apply(grads, 0.0002);
        tf.dispose(Object.values(grads));
        for (const k of Object.keys(shapes)) ref[k].step(gradsF64[k], 0.0002);
        for (const k of Object.keys(shapes)) {
          const got = params.get(k)!.dataSync();
          const moved = maxRelDiff(ref[k].p, init[k]);
          assert.ok(moved > 1e-4 || k === 'w', `${backend} ${k}: the parameter did not move`);
          const err = maxRelDiff(got, ref[k].p);
          assert.ok(err < 2e-5, `${backend} step ${step} ${k}: off the float64 reference by ${err} (relative)`);
        }
      }
      assert.deepEqual(Array.from(shared.dataSync()), sharedBefore, `${backend}: a tensor sharing the bias's old data was changed`);
      shared.dispose();
      assert.equal(tf.memory().numTensors, tensorsBefore, `${backend}: live tensors grew over the steps`);

      // the saved moments restored into a new optimiser give the same next step
      const state = await adam.getState();
      assert.equal(state.step, 6);
      const err = maxRelDiff(state.expAvgSq.get('big')!, ref.big.v);
      assert.ok(err < 2e-5, `${backend}: saved second moment off by ${err}`);
      const copies = new Map([...params].map(([k, v]) => [k, tf.variable(v.clone(), true, `${backend}-copy-${k}`)]));
      const restored = new Adam(copies, CFG);
      restored.setState(state);
      const g = tf.tidy(() => Object.fromEntries(Object.entries(shapes).map(([k, s], i) => [k, tf.tensor(Float32Array.from(seeded(ref[k].p.length, 999 + i, 0.01)), s)])));
      adam.apply(g, 0.0002);
      restored.apply(g, 0.0002);
      for (const k of Object.keys(shapes)) assert.deepEqual(Array.from(copies.get(k)!.dataSync()), Array.from(params.get(k)!.dataSync()), `${backend} ${k}: restored optimiser differs`);
      tf.dispose(Object.values(g));
      adam.dispose();
      restored.dispose();
      tf.dispose([...params.values(), ...copies.values()]);
    }
  });
});
