// The trainer of a bench case: the official networks at their full options,
// only the generator and the image size changed. bench/cases.ts times its
// steps; bench/profile.ts and bench/ab.ts take one step on two fixed images.
import * as tf from '@tensorflow/tfjs-core';
import * as os from 'node:os';
import { resolveOptions, type TrainRequest } from '../server/options/options';
import { CycleGanTrainer } from '../server/train/cycleGan';
import { initNets } from '../server/train/nets';
import { Pix2PixTrainer } from '../server/train/pix2pix';
import { Rng } from '../server/train/rng';

/** `rngSeed` seeds the image pool's random stream. */
export function benchTrainer(model: TrainRequest['model'], netG: TrainRequest['netG'], ngf: number, side: number, rngSeed: number): { trainer: CycleGanTrainer | Pix2PixTrainer; lr: number } {
  const o = resolveOptions({ dataroot: os.tmpdir(), model, preset: 'full', netG, ngf, ndf: 64, crop_size: side, load_size: side, iterations: 1 }, { datasetSize: 1 });
  const nets = initNets(o);
  const rng = Rng.from(rngSeed, 7);
  return { trainer: model === 'cyclegan' ? new CycleGanTrainer(o, nets, rng) : new Pix2PixTrainer(o, nets, rng), lr: o.lr };
}

export function stepTrainer(model: TrainRequest['model'], netG: TrainRequest['netG'], ngf: number, side: number): () => void {
  const { trainer, lr } = benchTrainer(model, netG, ngf, side, 1);
  const a = tf.randomUniform([1, side, side, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const b = tf.randomUniform([1, side, side, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
  return () => {
    trainer.step(a, b, lr);
  };
}
