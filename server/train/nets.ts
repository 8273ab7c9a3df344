// The networks of a training run, built from the resolved options with the
// official names (G_A, G_B, D_A, D_B for CycleGAN; G, D for pix2pix), and the
// bookkeeping the optimisers need: trainable variables by a stable name.
import * as tf from '@tensorflow/tfjs-core';
// Gradients of the core ops are registered by the @tensorflow/tfjs umbrella
// package (which tfjs-node pulls in), not by tfjs-core; wasm and cpu need this.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { Discriminator, Generator } from '../models/network';
import type { DiscriminatorSpec, GeneratorSpec } from '../models/spec';
import type { TrainOptions } from '../options/options';

export type NetName = 'G_A' | 'G_B' | 'D_A' | 'D_B' | 'G' | 'D';
export type Net = Generator | Discriminator;

export function netNames(model: TrainOptions['model']): NetName[] {
  return model === 'cyclegan' ? ['G_A', 'G_B', 'D_A', 'D_B'] : ['G', 'D'];
}

export function generatorSpec(o: TrainOptions): GeneratorSpec {
  return { netG: o.netG, ngf: o.ngf, norm: o.norm, inputNc: o.input_nc, outputNc: o.output_nc, useDropout: !o.no_dropout };
}

/** pix2pix's D sees concat(A, B): input_nc + output_nc channels (conditional GAN); CycleGAN's D sees one image. */
export function discriminatorSpec(o: TrainOptions, name: NetName): DiscriminatorSpec {
  const inputNc = o.model === 'pix2pix' ? o.input_nc + o.output_nc : name === 'D_A' ? o.output_nc : o.input_nc;
  return { netD: o.netD, ndf: o.ndf, nLayers: o.netD === 'pixel' ? 0 : o.netD === 'basic' ? 3 : o.n_layers_D, norm: o.norm, inputNc };
}

export function specOf(o: TrainOptions, name: NetName): GeneratorSpec | DiscriminatorSpec {
  return name.startsWith('G') ? generatorSpec(o) : discriminatorSpec(o, name);
}

/** Official init_weights (normal, 0.02), each network from its own seed derived from the run seed. */
export function initNets(o: TrainOptions): Map<NetName, Net> {
  const nets = new Map<NetName, Net>();
  netNames(o.model).forEach((name, i) => {
    const seed = (o.seed * 16 + i + 1) >>> 0;
    nets.set(name, name.startsWith('G') ? Generator.init(generatorSpec(o), seed) : Discriminator.init(discriminatorSpec(o, name), seed));
  });
  return nets;
}

/** Trainable variables of several networks keyed "<net>.<official key>", for one optimiser over them (itertools.chain in the official code). */
export function trainableParams(nets: Net[], names: NetName[]): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  nets.forEach((net, i) => {
    for (const [key, v] of net.params) if (v.trainable) out.set(`${names[i]}.${key}`, v);
  });
  return out;
}

/** tf.variableGrads keys gradients by tfjs variable name; map them back to our parameter names. */
export function gradsByParam(params: Map<string, tf.Variable>, grads: tf.NamedTensorMap): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [name, v] of params) {
    const g = grads[v.name];
    if (g) out[name] = g;
  }
  return out;
}
