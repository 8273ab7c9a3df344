// Generator and Discriminator: a spec plus its parameters, applied in NHWC with
// values in [-1, 1]. apply() never changes the parameters unless the caller asks
// for BatchNorm running-statistic updates (the trainer does, inference never).
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/stateDict';
import type { ForwardMode } from './blocks';
import { forward as patchganForward } from './patchgan';
import { type Params, countParameters, disposeParams, initParams, paramsFromStateDict, stateDictFromParams } from './params';
import { forward as pixelForward } from './pixel';
import { forward as resnetForward } from './resnet';
import { type DiscriminatorSpec, type GeneratorSpec, type NetworkSpec, describeSpec, sizeMultiple } from './spec';
import { forward as unetForward } from './unet';

export type { ForwardMode } from './blocks';

abstract class Network<S extends NetworkSpec> {
  constructor(
    readonly spec: S,
    readonly params: Params,
  ) {}

  protected abstract forward(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D;

  /** x: [N, H, W, inputNc] in [-1, 1]. */
  apply(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    const { inputNc } = this.spec;
    if (x.rank !== 4 || x.shape[3] !== inputNc) {
      throw new Error(`${describeSpec(this.spec)} takes [N, H, W, ${inputNc}] input, got [${x.shape.join(', ')}]`);
    }
    const m = sizeMultiple(this.spec);
    if (x.shape[1] % m !== 0 || x.shape[2] % m !== 0) {
      throw new Error(`${describeSpec(this.spec)} needs sides that are multiples of ${m}, got ${x.shape[1]}x${x.shape[2]}`);
    }
    return tf.tidy(() => this.forward(x, mode));
  }

  /** Trainable values, as the official print_network counts them. */
  parameterCount(): number {
    return countParameters(this.params);
  }

  /** PyTorch layouts under the official keys, for .pth export. */
  stateDict(): StateDict {
    return stateDictFromParams(this.params);
  }

  /** Trainable variables, for an optimizer. */
  trainableVariables(): tf.Variable[] {
    return [...this.params.values()].filter((v) => v.trainable);
  }

  dispose(): void {
    disposeParams(this.params);
  }
}

export class Generator extends Network<GeneratorSpec> {
  /** Official init_weights('normal', 0.02) with a seeded generator. */
  static init(spec: GeneratorSpec, seed: number): Generator {
    return new Generator(spec, initParams(spec, seed));
  }

  /** `file` names the checkpoint in errors. */
  static fromStateDict(sd: StateDict, spec: GeneratorSpec, file: string): Generator {
    return new Generator(spec, paramsFromStateDict(sd, spec, file));
  }

  protected forward(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    return this.spec.netG.startsWith('resnet') ? resnetForward(this.spec, this.params, x, mode) : unetForward(this.spec, this.params, x, mode);
  }
}

export class Discriminator extends Network<DiscriminatorSpec> {
  static init(spec: DiscriminatorSpec, seed: number): Discriminator {
    return new Discriminator(spec, initParams(spec, seed));
  }

  static fromStateDict(sd: StateDict, spec: DiscriminatorSpec, file: string): Discriminator {
    return new Discriminator(spec, paramsFromStateDict(sd, spec, file));
  }

  protected forward(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    return this.spec.netD === 'pixel' ? pixelForward(this.spec, this.params, x, mode) : patchganForward(this.spec, this.params, x, mode);
  }
}
