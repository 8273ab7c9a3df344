// One training step of the official networks at their full options on two
// fixed random images, for the tools that time a step (bench/profile.ts,
// bench/ab.ts).
import * as tf from '@tensorflow/tfjs-core';
import * as os from 'node:os';
import { resolveOptions, type TrainRequest } from '../server/options/options';
import { CycleGanTrainer } from '../server/train/cycleGan';
import { initNets } from '../server/train/nets';
import { Pix2PixTrainer } from '../server/train/pix2pix';
import { Rng } from '../server/train/rng';

export function stepTrainer(model: TrainRequest['model'], netG: TrainRequest['netG'], ngf: number, side: number): () => void {
  const o = resolveOptions({ dataroot: os.tmpdir(), model, preset: 'full', netG, ngf, ndf: 64, crop_size: side, load_size: side, iterations: 1 }, { datasetSize: 1 });
  const nets = initNets(o);
  const trainer = model === 'cyclegan' ? new CycleGanTrainer(o, nets, Rng.from(1, 7)) : new Pix2PixTrainer(o, nets, Rng.from(1, 7));
  const a = tf.randomUniform([1, side, side, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const b = tf.randomUniform([1, side, side, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
  return () => {
    trainer.step(a, b, o.lr);
  };
}
