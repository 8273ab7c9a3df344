// The official state_dict of each network, key by key in file order with its
// PyTorch shape, derived from the spec exactly as networks.py builds the modules.
import { type DiscriminatorSpec, type GeneratorSpec, type NetworkSpec, isGeneratorSpec, resnetBlocks, unetDowns } from './spec';

/** conv: Conv2d weight [out,in,kh,kw]; convT: ConvTranspose2d weight [in,out,kh,kw]; bn*: BatchNorm2d parameters and buffers. */
export type ParamKind = 'conv' | 'convT' | 'bias' | 'bnWeight' | 'bnBias' | 'bnMean' | 'bnVar' | 'bnCount';

export interface ParamEntry {
  key: string;
  /** PyTorch shape. */
  shape: number[];
  kind: ParamKind;
}

/** Buffers, not trained: BatchNorm running statistics and its batch counter. */
export function isTrainable(kind: ParamKind): boolean {
  return kind !== 'bnMean' && kind !== 'bnVar' && kind !== 'bnCount';
}

class LayoutBuilder {
  readonly entries: ParamEntry[] = [];

  constructor(private readonly norm: NetworkSpec['norm']) {}

  /** Official quirk: only InstanceNorm networks give their normalised convs a bias. */
  get normedBias(): boolean {
    return this.norm === 'instance';
  }

  conv(key: string, cin: number, cout: number, k: number, bias: boolean): void {
    this.entries.push({ key: `${key}.weight`, shape: [cout, cin, k, k], kind: 'conv' });
    if (bias) this.entries.push({ key: `${key}.bias`, shape: [cout], kind: 'bias' });
  }

  convT(key: string, cin: number, cout: number, k: number, bias: boolean): void {
    this.entries.push({ key: `${key}.weight`, shape: [cin, cout, k, k], kind: 'convT' });
    if (bias) this.entries.push({ key: `${key}.bias`, shape: [cout], kind: 'bias' });
  }

  normLayer(key: string, c: number): void {
    if (this.norm !== 'batch') return;
    this.entries.push(
      { key: `${key}.weight`, shape: [c], kind: 'bnWeight' },
      { key: `${key}.bias`, shape: [c], kind: 'bnBias' },
      { key: `${key}.running_mean`, shape: [c], kind: 'bnMean' },
      { key: `${key}.running_var`, shape: [c], kind: 'bnVar' },
      { key: `${key}.num_batches_tracked`, shape: [], kind: 'bnCount' },
    );
  }
}

/** Module indices of the ResNet generator's Sequential. */
export function resnetIndices(nBlocks: number) {
  return { firstBlock: 10, up1: 10 + nBlocks, up2: 13 + nBlocks, last: 17 + nBlocks };
}

/** Indices inside a ResnetBlock's conv_block: Dropout(0.5) after the first ReLU shifts the second conv. */
export function resnetBlockIndices(useDropout: boolean) {
  return { conv1: 1, norm1: 2, conv2: useDropout ? 6 : 5, norm2: useDropout ? 7 : 6 };
}

function resnetLayout(spec: GeneratorSpec, b: LayoutBuilder): void {
  const { ngf, inputNc, outputNc } = spec;
  const n = resnetBlocks(spec);
  const idx = resnetIndices(n);
  const bias = b.normedBias;
  b.conv('model.1', inputNc, ngf, 7, bias);
  b.normLayer('model.2', ngf);
  b.conv('model.4', ngf, ngf * 2, 3, bias);
  b.normLayer('model.5', ngf * 2);
  b.conv('model.7', ngf * 2, ngf * 4, 3, bias);
  b.normLayer('model.8', ngf * 4);
  const blk = resnetBlockIndices(spec.useDropout);
  for (let i = 0; i < n; i++) {
    const p = `model.${idx.firstBlock + i}.conv_block`;
    b.conv(`${p}.${blk.conv1}`, ngf * 4, ngf * 4, 3, bias);
    b.normLayer(`${p}.${blk.norm1}`, ngf * 4);
    b.conv(`${p}.${blk.conv2}`, ngf * 4, ngf * 4, 3, bias);
    b.normLayer(`${p}.${blk.norm2}`, ngf * 4);
  }
  b.convT(`model.${idx.up1}`, ngf * 4, ngf * 2, 3, bias);
  b.normLayer(`model.${idx.up1 + 1}`, ngf * 2);
  b.convT(`model.${idx.up2}`, ngf * 2, ngf, 3, bias);
  b.normLayer(`model.${idx.up2 + 1}`, ngf);
  b.conv(`model.${idx.last}`, ngf, outputNc, 7, true);
}

/** One U-Net level: its key prefix and channel counts (level 0 is the outermost block). */
export interface UnetLevel {
  prefix: string;
  outerNc: number;
  innerNc: number;
  inputNc: number;
  outermost: boolean;
  innermost: boolean;
  /** One of the num_downs-5 middle ngf*8 blocks that get Dropout(0.5) when use_dropout is on. */
  dropoutSlot: boolean;
}

/** The nested UnetSkipConnectionBlocks from the outside in; each prefix ends with '.' (e.g. "model.model.1.model."). */
export function unetLevels(spec: GeneratorSpec): UnetLevel[] {
  const { ngf, inputNc, outputNc } = spec;
  const downs = unetDowns(spec);
  const levels: UnetLevel[] = [];
  let prefix = 'model.model.';
  for (let l = 0; l < downs; l++) {
    const outermost = l === 0;
    const innermost = l === downs - 1;
    const outerNc = outermost ? outputNc : ngf * 2 ** Math.min(l - 1, 3);
    const innerNc = ngf * 2 ** Math.min(l, 3);
    levels.push({ prefix, outerNc, innerNc, inputNc: outermost ? inputNc : outerNc, outermost, innermost, dropoutSlot: l >= 4 && !innermost });
    prefix += outermost ? '1.model.' : '3.model.';
  }
  return levels;
}

function unetLayout(spec: GeneratorSpec, b: LayoutBuilder): void {
  const bias = b.normedBias;
  // modules are registered down path, submodule, up path: collect the up paths and emit them innermost first
  const ups: (() => void)[] = [];
  for (const lv of unetLevels(spec)) {
    const p = lv.prefix;
    if (lv.outermost) {
      b.conv(`${p}0`, lv.inputNc, lv.innerNc, 4, bias);
      ups.push(() => b.convT(`${p}3`, lv.innerNc * 2, lv.outerNc, 4, true));
    } else if (lv.innermost) {
      b.conv(`${p}1`, lv.inputNc, lv.innerNc, 4, bias);
      b.convT(`${p}3`, lv.innerNc, lv.outerNc, 4, bias);
      b.normLayer(`${p}4`, lv.outerNc);
    } else {
      b.conv(`${p}1`, lv.inputNc, lv.innerNc, 4, bias);
      b.normLayer(`${p}2`, lv.innerNc);
      ups.push(() => {
        b.convT(`${p}5`, lv.innerNc * 2, lv.outerNc, 4, bias);
        b.normLayer(`${p}6`, lv.outerNc);
      });
    }
  }
  for (const up of ups.reverse()) up();
}

/** Output channels of each PatchGAN conv: ndf·min(2^i, 8), then 1. */
export function patchganChannels(spec: DiscriminatorSpec): number[] {
  const ch = [spec.ndf];
  for (let n = 1; n <= spec.nLayers; n++) ch.push(spec.ndf * Math.min(2 ** n, 8));
  ch.push(1);
  return ch;
}

/** Sequential index of PatchGAN conv i: 0, then every third module from 2 (conv, norm, LeakyReLU). */
export function patchganConvIndex(i: number): number {
  return i === 0 ? 0 : 3 * i - 1;
}

function patchganLayout(spec: DiscriminatorSpec, b: LayoutBuilder): void {
  const ch = patchganChannels(spec);
  let cin = spec.inputNc;
  ch.forEach((cout, i) => {
    const idx = patchganConvIndex(i);
    const first = i === 0;
    const last = i === ch.length - 1;
    b.conv(`model.${idx}`, cin, cout, 4, first || last || b.normedBias);
    if (!first && !last) b.normLayer(`model.${idx + 1}`, cout);
    cin = cout;
  });
}

function pixelLayout(spec: DiscriminatorSpec, b: LayoutBuilder): void {
  b.conv('net.0', spec.inputNc, spec.ndf, 1, true);
  b.conv('net.2', spec.ndf, spec.ndf * 2, 1, b.normedBias);
  b.normLayer('net.3', spec.ndf * 2);
  b.conv('net.5', spec.ndf * 2, 1, 1, b.normedBias);
}

/** Every key of the official state_dict for this network, in the order torch.save writes them. */
export function expectedParams(spec: NetworkSpec): ParamEntry[] {
  const b = new LayoutBuilder(spec.norm);
  if (isGeneratorSpec(spec)) {
    if (spec.netG.startsWith('resnet')) resnetLayout(spec, b);
    else unetLayout(spec, b);
  } else if (spec.netD === 'pixel') {
    pixelLayout(spec, b);
  } else {
    patchganLayout(spec, b);
  }
  return b.entries;
}
