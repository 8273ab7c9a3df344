// Pix2PixModel.optimize_parameters() of the official code:
//   forward: fake_B = G(A)
//   D step: 0.5 * (GAN(D(cat(A, fake_B)), false) + GAN(D(cat(A, B)), true))
//   G step (D frozen): GAN(D(cat(A, fake_B)), true) + λ_L1 |fake_B - B|
// D runs in train mode each time, so its BatchNorm running statistics move
// three times per iteration (fake, real, then the G step), as in PyTorch; G runs
// once (its dropout masks seeded from the run's RNG, one seed per step).
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from './adam';
import { ganLoss, l1Loss } from './losses';
import { type Net, type NetName, gradsByParam, trainableParams } from './nets';
import type { Losses } from './cycleGan';
import type { Rng } from './rng';
import type { Discriminator, Generator } from '../models/network';
import type { TrainOptions } from '../options/options';

export const PIX2PIX_LOSS_NAMES = ['G_GAN', 'G_L1', 'D_real', 'D_fake'] as const;

type Pix2PixOptions = Pick<TrainOptions, 'gan_mode' | 'lambda_L1' | 'beta1'>;

export class Pix2PixTrainer {
  readonly lossNames = PIX2PIX_LOSS_NAMES;
  readonly optimizerG: Adam;
  readonly optimizerD: Adam;
  readonly pools = {};
  private readonly g: Generator;
  private readonly d: Discriminator;
  private readonly paramsG: Map<string, tf.Variable>;
  private readonly paramsD: Map<string, tf.Variable>;

  constructor(
    private readonly o: Pix2PixOptions,
    readonly nets: Map<NetName, Net>,
    private readonly rng: Rng,
  ) {
    this.g = nets.get('G') as Generator;
    this.d = nets.get('D') as Discriminator;
    this.paramsG = trainableParams([this.g], ['G']);
    this.paramsD = trainableParams([this.d], ['D']);
    const cfg = { beta1: o.beta1, beta2: 0.999, eps: 1e-8 };
    this.optimizerG = new Adam(this.paramsG, cfg);
    this.optimizerD = new Adam(this.paramsD, cfg);
  }

  step(realA: tf.Tensor4D, realB: tf.Tensor4D, lr: number): Losses {
    const mode = this.o.gan_mode;
    const train = { training: true, updateStats: true };
    const dropoutSeed = this.rng.seed();
    const kept: Record<string, tf.Scalar> = {};

    // G's forward pass is taped once and reused by the G step after the D step
    // has updated D, as the official code keeps fake_B's graph; the D step's
    // own gradients (a nested tape) reach only D's variables (fake_B.detach()).
    const g = tf.variableGrads(() => {
      const fakeB = this.g.apply(realA, { ...train, dropoutSeed });
      const d = tf.variableGrads(() => {
        const lossFake = ganLoss(mode, this.d.apply(tf.concat([realA, fakeB], 3), train), false);
        const lossReal = ganLoss(mode, this.d.apply(tf.concat([realA, realB], 3), train), true);
        kept.D_fake = tf.keep(lossFake);
        kept.D_real = tf.keep(lossReal);
        return tf.mul(tf.add(lossFake, lossReal), 0.5) as tf.Scalar;
      }, [...this.paramsD.values()]);
      this.optimizerD.apply(gradsByParam(this.paramsD, d.grads), lr);
      d.value.dispose();
      tf.dispose(d.grads);

      const lossGan = ganLoss(mode, this.d.apply(tf.concat([realA, fakeB], 3), train), true);
      const lossL1 = tf.mul(l1Loss(fakeB, realB), this.o.lambda_L1) as tf.Scalar;
      kept.G_GAN = tf.keep(lossGan);
      kept.G_L1 = tf.keep(lossL1);
      return tf.add(lossGan, lossL1) as tf.Scalar;
    }, [...this.paramsG.values()]);
    this.optimizerG.apply(gradsByParam(this.paramsG, g.grads), lr);
    g.value.dispose();
    tf.dispose(g.grads);

    const losses: Losses = {};
    for (const name of this.lossNames) {
      losses[name] = kept[name].dataSync()[0];
      kept[name].dispose();
    }
    return losses;
  }

  /** Sample row: A | G(A) | B (the target). */
  sample(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => [tf.clone(a), this.g.apply(a, { training: true, updateStats: false }), tf.clone(b)]);
  }

  dispose(): void {
    this.optimizerG.dispose();
    this.optimizerD.dispose();
  }
}
