// What a network is, in the official option names (netG / netD, ngf, norm, …),
// as detected from a checkpoint or chosen for training.

export type NormKind = 'instance' | 'batch' | 'none';

export interface GeneratorSpec {
  netG: 'resnet_6blocks' | 'resnet_9blocks' | 'unet_128' | 'unet_256';
  ngf: number;
  norm: NormKind;
  inputNc: number;
  outputNc: number;
  /** ResNet: a Dropout(0.5) inside every block (it shifts the block's keys); U-Net: in the innermost 512-channel blocks. */
  useDropout: boolean;
}

export interface DiscriminatorSpec {
  netD: 'basic' | 'n_layers' | 'pixel';
  ndf: number;
  /** Strided conv layers of a PatchGAN (basic = 3); unused (0) for the pixel discriminator. */
  nLayers: number;
  norm: NormKind;
  inputNc: number;
}

export type NetworkSpec = GeneratorSpec | DiscriminatorSpec;

export function isGeneratorSpec(spec: NetworkSpec): spec is GeneratorSpec {
  return 'netG' in spec;
}

/** Residual blocks of a ResNet generator. */
export function resnetBlocks(spec: GeneratorSpec): number {
  return spec.netG === 'resnet_9blocks' ? 9 : 6;
}

/** Downsamplings of a U-Net generator (num_downs in the official code). */
export function unetDowns(spec: GeneratorSpec): number {
  return spec.netG === 'unet_256' ? 8 : 7;
}

/** Input sides must be multiples of this: ResNet downsamples twice, U-Net num_downs times. */
export function sizeMultiple(spec: NetworkSpec): number {
  if (!isGeneratorSpec(spec)) return 1;
  return spec.netG.startsWith('resnet') ? 4 : 2 ** unetDowns(spec);
}

/** Official name of the architecture: resnet_9blocks, unet_256, basic, n_layers, pixel. */
export function architectureName(spec: NetworkSpec): string {
  return isGeneratorSpec(spec) ? spec.netG : spec.netD;
}

/** One line for messages, e.g. "resnet_9blocks generator (ngf 64, instance norm, 3→3 channels)". */
export function describeSpec(spec: NetworkSpec): string {
  if (isGeneratorSpec(spec)) {
    return `${spec.netG} generator (ngf ${spec.ngf}, ${spec.norm} norm, ${spec.inputNc}→${spec.outputNc} channels${spec.useDropout ? ', dropout' : ''})`;
  }
  const layers = spec.netD === 'n_layers' ? `, ${spec.nLayers} layers` : '';
  return `${spec.netD} discriminator (ndf ${spec.ndf}${layers}, ${spec.norm} norm, ${spec.inputNc} input channels)`;
}
