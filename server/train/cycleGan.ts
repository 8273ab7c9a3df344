// CycleGANModel.optimize_parameters() of the official code:
//   forward: fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A)
//   G step (D_A, D_B frozen): idt_A = G_A(B), idt_B = G_B(A);
//     loss_G = GAN(D_A(fake_B), real) + GAN(D_B(fake_A), real) + λ_A|rec_A - A| + λ_B|rec_B - B|
//              + λ_B λ_idt |idt_A - B| + λ_A λ_idt |idt_B - A|
//   D step: D_A on real_B vs fake_B_pool.query(fake_B), D_B on real_A vs fake_A_pool.query(fake_A),
//     each 0.5 * (GAN(real, true) + GAN(fake, false)).
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from './adam';
import { ImagePool } from './imagePool';
import { ganLoss, l1Loss } from './losses';
import { type Net, type NetName, gradsByParam, trainableParams } from './nets';
import type { Rng } from './rng';
import type { Discriminator, Generator } from '../models/network';
import type { TrainOptions } from '../options/options';

export const CYCLEGAN_LOSS_NAMES = ['D_A', 'G_A', 'cycle_A', 'idt_A', 'D_B', 'G_B', 'cycle_B', 'idt_B'] as const;

export type Losses = Record<string, number>;

type CycleOptions = Pick<TrainOptions, 'gan_mode' | 'lambda_A' | 'lambda_B' | 'lambda_identity' | 'pool_size' | 'beta1'>;

const TRAIN = { training: true, updateStats: true };

export class CycleGanTrainer {
  readonly lossNames = CYCLEGAN_LOSS_NAMES;
  readonly optimizerG: Adam;
  readonly optimizerD: Adam;
  /** fake_A_pool holds generated A images (for D_B), fake_B_pool generated B images (for D_A). */
  readonly pools: { fake_A: ImagePool; fake_B: ImagePool };
  private readonly gA: Generator;
  private readonly gB: Generator;
  private readonly dA: Discriminator;
  private readonly dB: Discriminator;
  private readonly paramsG: Map<string, tf.Variable>;
  private readonly paramsD: Map<string, tf.Variable>;

  constructor(
    private readonly o: CycleOptions,
    readonly nets: Map<NetName, Net>,
    rng: Rng,
  ) {
    this.gA = nets.get('G_A') as Generator;
    this.gB = nets.get('G_B') as Generator;
    this.dA = nets.get('D_A') as Discriminator;
    this.dB = nets.get('D_B') as Discriminator;
    this.paramsG = trainableParams([this.gA, this.gB], ['G_A', 'G_B']);
    this.paramsD = trainableParams([this.dA, this.dB], ['D_A', 'D_B']);
    const cfg = { beta1: o.beta1, beta2: 0.999, eps: 1e-8 };
    this.optimizerG = new Adam(this.paramsG, cfg);
    this.optimizerD = new Adam(this.paramsD, cfg);
    this.pools = { fake_A: new ImagePool(o.pool_size, rng), fake_B: new ImagePool(o.pool_size, rng) };
  }

  /** One optimize_parameters() on a batch; returns the losses by official name. */
  step(realA: tf.Tensor4D, realB: tf.Tensor4D, lr: number): Losses {
    const { gan_mode: mode, lambda_A: lA, lambda_B: lB, lambda_identity: lIdt } = this.o;
    const kept: Record<string, tf.Tensor> = {};
    const keep = <T extends tf.Tensor>(name: string, t: T): T => {
      kept[name] = tf.keep(t);
      return t;
    };

    const g = tf.variableGrads(() => {
      const { fakeB, recA, fakeA, recB, idtA, idtB } = this.generatorPasses(realA, realB, lIdt > 0);
      keep('fake_B', fakeB);
      keep('fake_A', fakeA);
      let total: tf.Scalar = tf.scalar(0);
      if (idtA && idtB) {
        total = tf.add(total, keep('idt_A', tf.mul(l1Loss(idtA, realB), lB * lIdt)));
        total = tf.add(total, keep('idt_B', tf.mul(l1Loss(idtB, realA), lA * lIdt)));
      } else {
        keep('idt_A', tf.scalar(0));
        keep('idt_B', tf.scalar(0));
      }
      const lossGA = keep('G_A', ganLoss(mode, this.dA.apply(fakeB, TRAIN), true));
      const lossGB = keep('G_B', ganLoss(mode, this.dB.apply(fakeA, TRAIN), true));
      const cycA = keep('cycle_A', tf.mul(l1Loss(recA, realA), lA));
      const cycB = keep('cycle_B', tf.mul(l1Loss(recB, realB), lB));
      return tf.addN([total, lossGA, lossGB, cycA, cycB]) as tf.Scalar;
    }, [...this.paramsG.values()]);
    this.optimizerG.apply(gradsByParam(this.paramsG, g.grads), lr);
    g.value.dispose();
    tf.dispose(g.grads);

    // backward_D_A queries fake_B_pool before backward_D_B queries fake_A_pool (one shared random stream).
    const poolB = this.pools.fake_B.query(kept.fake_B as tf.Tensor4D);
    const poolA = this.pools.fake_A.query(kept.fake_A as tf.Tensor4D);
    const d = tf.variableGrads(() => {
      const dReal = (net: Discriminator, real: tf.Tensor4D, fake: tf.Tensor4D): tf.Scalar => {
        let predReal: tf.Tensor4D;
        let predFake: tf.Tensor4D;
        if (this.batchable(net.spec.norm) && real.shape[0] === fake.shape[0]) {
          [predReal, predFake] = tf.split(net.apply(tf.concat([real, fake], 0) as tf.Tensor4D, TRAIN), 2, 0) as tf.Tensor4D[];
        } else {
          predReal = net.apply(real, TRAIN);
          predFake = net.apply(fake, TRAIN);
        }
        const lossReal = ganLoss(mode, predReal, true);
        const lossFake = ganLoss(mode, predFake, false);
        return tf.mul(tf.add(lossReal, lossFake), 0.5);
      };
      const lossDA = keep('D_A', dReal(this.dA, realB, poolB));
      const lossDB = keep('D_B', dReal(this.dB, realA, poolA));
      return tf.add(lossDA, lossDB) as tf.Scalar;
    }, [...this.paramsD.values()]);
    this.optimizerD.apply(gradsByParam(this.paramsD, d.grads), lr);
    d.value.dispose();
    tf.dispose(d.grads);
    tf.dispose([poolA, poolB, kept.fake_A, kept.fake_B]);

    const losses: Losses = {};
    for (const name of this.lossNames) {
      losses[name] = kept[name].dataSync()[0];
      kept[name].dispose();
    }
    return losses;
  }

  /**
   * Per-sample norms (instance, none) make a network's output for one image
   * independent of the others in its batch, so passes of the same network run
   * as one batch: fewer, larger kernels. BatchNorm (batch statistics) and
   * dropout (masks) would change the results, so they keep separate passes.
   */
  private batchable(norm: string, dropout = false): boolean {
    return norm !== 'batch' && !dropout;
  }

  /** fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A), idt_A = G_A(B), idt_B = G_B(A), in 3 batched passes when exact. */
  private generatorPasses(realA: tf.Tensor4D, realB: tf.Tensor4D, identity: boolean) {
    const sameSizes = realA.shape[0] === realB.shape[0];
    if (!sameSizes || !this.batchable(this.gA.spec.norm, this.gA.spec.useDropout) || !this.batchable(this.gB.spec.norm, this.gB.spec.useDropout)) {
      const fakeB = this.gA.apply(realA, TRAIN);
      const recA = this.gB.apply(fakeB, TRAIN);
      const fakeA = this.gB.apply(realB, TRAIN);
      const recB = this.gA.apply(fakeA, TRAIN);
      return { fakeB, recA, fakeA, recB, idtA: identity ? this.gA.apply(realB, TRAIN) : undefined, idtB: identity ? this.gB.apply(realA, TRAIN) : undefined };
    }
    const [fakeB, idtA] = tf.split(this.gA.apply(identity ? (tf.concat([realA, realB], 0) as tf.Tensor4D) : realA, TRAIN), identity ? 2 : 1, 0) as tf.Tensor4D[];
    const [fakeA, recA, idtB] = tf.split(this.gB.apply(tf.concat(identity ? [realB, fakeB, realA] : [realB, fakeB], 0) as tf.Tensor4D, TRAIN), identity ? 3 : 2, 0) as tf.Tensor4D[];
    const recB = this.gA.apply(fakeA, TRAIN);
    return { fakeB, recA, fakeA, recB, idtA, idtB };
  }

  /** Sample rows: x | G(x) | F(G(x)) for domain A probes (G_A then G_B) and B probes (G_B then G_A). */
  sample(x: tf.Tensor4D, from: 'A' | 'B'): tf.Tensor4D[] {
    const mode = { training: true, updateStats: false };
    const [g, f] = from === 'A' ? [this.gA, this.gB] : [this.gB, this.gA];
    return tf.tidy(() => {
      const y = g.apply(x, mode);
      return [tf.clone(x), y, f.apply(y, mode)];
    });
  }

  dispose(): void {
    this.optimizerG.dispose();
    this.optimizerD.dispose();
    this.pools.fake_A.dispose();
    this.pools.fake_B.dispose();
  }
}
