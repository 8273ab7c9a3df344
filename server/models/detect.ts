// Which official network a state dict holds, from its keys and shapes alone,
// so the user never has to say it. A candidate spec is read off a few telling
// keys, then the whole state dict must match that spec's layout exactly.
import { ModelFileError } from '../io/modelFileError';
import type { StateDict } from '../io/stateDict';
import { resnetBlockIndices, resnetIndices } from './layout';
import { layoutProblems } from './params';
import type { DiscriminatorSpec, GeneratorSpec, NetworkSpec, NormKind } from './spec';

export type DetectedNetwork = { role: 'generator'; spec: GeneratorSpec } | { role: 'discriminator'; spec: DiscriminatorSpec };

function shapeOf(sd: StateDict, key: string): number[] | undefined {
  return sd.get(key)?.shape;
}

/** BatchNorm leaves a weight at the norm's index; InstanceNorm (affine off) leaves nothing but gives the conv a bias; 'none' neither. */
function normFrom(sd: StateDict, normKey: string, convKey: string): NormKind {
  if (sd.has(`${normKey}.weight`)) return 'batch';
  return sd.has(`${convKey}.bias`) ? 'instance' : 'none';
}

function detectResnet(sd: StateDict, file: string): GeneratorSpec | undefined {
  const first = shapeOf(sd, 'model.1.weight');
  if (first?.length !== 4 || first[2] !== 7) return undefined;
  const blocks = new Set<number>();
  for (const key of sd.keys()) {
    const m = /^model\.(\d+)\.conv_block\./.exec(key);
    if (m) blocks.add(Number(m[1]));
  }
  const n = blocks.size;
  if (n !== 6 && n !== 9) {
    throw new ModelFileError(file, `unknown architecture: a ResNet generator with ${n} residual blocks (official ones have 6 or 9)`);
  }
  const { firstBlock, last } = resnetIndices(n);
  // with Dropout the second conv sits at conv_block.6, where BatchNorm otherwise keeps its (1-D) weight
  const useDropout = shapeOf(sd, `model.${firstBlock}.conv_block.${resnetBlockIndices(true).conv2}.weight`)?.length === 4;
  const lastConv = shapeOf(sd, `model.${last}.weight`);
  return {
    netG: n === 9 ? 'resnet_9blocks' : 'resnet_6blocks',
    ngf: first[0],
    norm: normFrom(sd, 'model.2', 'model.1'),
    inputNc: first[1],
    outputNc: lastConv?.[0] ?? 3,
    useDropout,
  };
}

function detectUnet(sd: StateDict, file: string): GeneratorSpec | undefined {
  const first = shapeOf(sd, 'model.model.0.weight');
  if (first?.length !== 4) return undefined;
  // nesting: model.model.1.model. is level 1, each deeper level adds "3.model."
  let downs = 1;
  let prefix = 'model.model.1.model.';
  const keys = [...sd.keys()];
  while (keys.some((k) => k.startsWith(prefix))) {
    downs++;
    prefix += '3.model.';
  }
  if (downs !== 7 && downs !== 8) {
    throw new ModelFileError(file, `unknown architecture: a U-Net generator with ${downs} downsamplings (official unet_128 has 7, unet_256 has 8)`);
  }
  const outer = shapeOf(sd, 'model.model.3.weight');
  return {
    netG: downs === 8 ? 'unet_256' : 'unet_128',
    ngf: first[0],
    norm: normFrom(sd, 'model.model.1.model.2', 'model.model.1.model.1'),
    inputNc: first[1],
    outputNc: outer?.[1] ?? 3,
    // dropout adds no keys to a U-Net; the official pix2pix default has it on
    useDropout: true,
  };
}

function detectPatchgan(sd: StateDict): DiscriminatorSpec | undefined {
  const first = shapeOf(sd, 'model.0.weight');
  if (first?.length !== 4 || first[2] !== 4) return undefined;
  let convs = 1;
  while (sd.has(`model.${3 * convs - 1}.weight`)) convs++;
  const nLayers = convs - 2;
  return {
    netD: nLayers === 3 ? 'basic' : 'n_layers',
    ndf: first[0],
    nLayers,
    norm: normFrom(sd, 'model.3', 'model.2'),
    inputNc: first[1],
  };
}

function detectPixel(sd: StateDict): DiscriminatorSpec | undefined {
  const first = shapeOf(sd, 'net.0.weight');
  if (first?.length !== 4 || first[2] !== 1) return undefined;
  return { netD: 'pixel', ndf: first[0], nLayers: 0, norm: normFrom(sd, 'net.3', 'net.2'), inputNc: first[1] };
}

function unknown(sd: StateDict, file: string, why: string): ModelFileError {
  const keys = [...sd.keys()].slice(0, 3).join(', ');
  return new ModelFileError(file, `unknown architecture: ${why} (keys like ${keys || 'none'})`);
}

/** Generator or discriminator and its spec; a ModelFileError naming `file` when no official network has these keys and shapes. */
export function detectNetwork(sd: StateDict, file: string): DetectedNetwork {
  const generator = detectResnet(sd, file) ?? detectUnet(sd, file);
  const discriminator = generator ? undefined : (detectPatchgan(sd) ?? detectPixel(sd));
  const spec: NetworkSpec | undefined = generator ?? discriminator;
  if (!spec) throw unknown(sd, file, 'not an official ResNet or U-Net generator, PatchGAN or pixel discriminator');
  const problems = layoutProblems(sd, spec);
  if (problems.length) throw unknown(sd, file, `looks like a ${'netG' in spec ? spec.netG : spec.netD} network but ${problems.slice(0, 2).join('; ')}`);
  return generator ? { role: 'generator', spec: generator } : { role: 'discriminator', spec: discriminator as DiscriminatorSpec };
}
