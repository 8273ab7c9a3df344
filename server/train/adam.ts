// Adam exactly as torch.optim.Adam's single-tensor CPU path computes it:
//   m.lerp_(g, 1 - beta1); v = v * beta2 + (1 - beta2) * g * g
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps;  p -= (lr / (1 - beta1^t)) * m / denom
// on tf.Variables, with state that can be saved and restored bit for bit.
// On tfjs-node the same step runs as one fused TF op per parameter (nativeAdam.ts).
import * as tf from '@tensorflow/tfjs-core';
import { NativeAdam, nativeAdamAvailable } from './nativeAdam';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
}

export interface AdamState {
  step: number;
  /** Per parameter name: first and second moments, float32 row-major in the variable's shape. */
  expAvg: Map<string, Float32Array>;
  expAvgSq: Map<string, Float32Array>;
}

export class Adam {
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly native?: NativeAdam;

  constructor(
    /** Trainable parameters by official name. */
    readonly params: Map<string, tf.Variable>,
    readonly config: AdamConfig = { beta1: 0.5, beta2: 0.999, eps: 1e-8 },
  ) {
    if (nativeAdamAvailable()) {
      this.native = new NativeAdam(params);
      return;
    }
    for (const [name, p] of params) {
      // inside tidy, so the zeros the variables start from do not outlive them
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** One optimiser step with these gradients (names absent from `grads` are left alone, as params without .grad). */
  apply(grads: tf.NamedTensorMap, lr: number): void {
    this.step += 1;
    const { beta1, beta2, eps } = this.config;
    const bc1 = 1 - beta1 ** this.step;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.step);
    if (this.native) {
      this.native.apply(grads, lr, beta1, beta2, eps, bc1, bc2Sqrt);
      return;
    }
    const stepSize = lr / bc1;
    const w = 1 - beta1;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads[name];
        if (!g) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        // at::lerp: weight < 0.5 ? self + w * (end - self) : end - (end - self) * (1 - w)
        const diff = tf.sub(g, m);
        const m1 = w < 0.5 ? tf.add(m, tf.mul(diff, w)) : tf.sub(g, tf.mul(diff, 1 - w));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), eps);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(p, tf.div(tf.mul(m1, stepSize), denom)));
      }
    });
  }

  async getState(): Promise<AdamState> {
    const expAvg = new Map<string, Float32Array>();
    const expAvgSq = new Map<string, Float32Array>();
    for (const name of this.params.keys()) {
      if (this.native) {
        const { m, v } = this.native.getMoments(name);
        expAvg.set(name, m);
        expAvgSq.set(name, v);
        continue;
      }
      expAvg.set(name, (await this.m.get(name)!.data()) as Float32Array);
      expAvgSq.set(name, (await this.v.get(name)!.data()) as Float32Array);
    }
    return { step: this.step, expAvg, expAvgSq };
  }

  setState(s: AdamState): void {
    for (const name of this.params.keys()) {
      const a = s.expAvg.get(name);
      const b = s.expAvgSq.get(name);
      if (!a || !b) throw new Error(`optimizer state has no moments for ${name}`);
      const shape = this.params.get(name)!.shape;
      // the variables keep the values; the temporary tensors go with the tidy
      tf.tidy(() => {
        if (this.native) this.native.setMoments(name, tf.tensor(a, shape), tf.tensor(b, shape));
        else {
          this.m.get(name)!.assign(tf.tensor(a, shape));
          this.v.get(name)!.assign(tf.tensor(b, shape));
        }
      });
    }
    this.step = s.step;
  }

  dispose(): void {
    this.native?.dispose();
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
