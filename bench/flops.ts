// FLOPs of the official networks, counted over their convolutions (2 per
// multiply-add; norms, activations and the optimiser are a few percent and left
// out), and of one training iteration, to state each timing as a fraction of the
// machine's matrix-multiply rate.
import { resnetBlocks, unetDowns, type DiscriminatorSpec, type GeneratorSpec } from '../server/models/spec';

/** One convolution: multiply-adds of its forward pass, and whether it is the network's first layer. */
interface Conv {
  macs: number;
  first: boolean;
}

const conv = (outH: number, outW: number, cin: number, cout: number, k: number, first = false): Conv => ({ macs: outH * outW * cin * cout * k * k, first });
/** A transposed conv does the multiply-adds of the conv it is the gradient of: per input pixel, cin·cout·k². */
const convT = (inH: number, inW: number, cin: number, cout: number, k: number): Conv => ({ macs: inH * inW * cin * cout * k * k, first: false });

export function generatorConvs(spec: GeneratorSpec, side: number): Conv[] {
  const { ngf, inputNc, outputNc } = spec;
  if (spec.netG.startsWith('resnet')) {
    const s2 = side / 2;
    const s4 = side / 4;
    const convs = [conv(side, side, inputNc, ngf, 7, true), conv(s2, s2, ngf, 2 * ngf, 3), conv(s4, s4, 2 * ngf, 4 * ngf, 3)];
    for (let i = 0; i < 2 * resnetBlocks(spec); i++) convs.push(conv(s4, s4, 4 * ngf, 4 * ngf, 3));
    convs.push(convT(s4, s4, 4 * ngf, 2 * ngf, 3), convT(s2, s2, 2 * ngf, ngf, 3), conv(side, side, ngf, outputNc, 7));
    return convs;
  }
  // U-Net: level l (0 outermost) maps outer→inner channels down and 2·inner (1·inner innermost)→outer up.
  const downs = unetDowns(spec);
  const convs: Conv[] = [];
  for (let l = 0; l < downs; l++) {
    const outer = l === 0 ? inputNc : ngf * Math.min(2 ** (l - 1), 8);
    const inner = ngf * Math.min(2 ** l, 8);
    const upOut = l === 0 ? outputNc : outer;
    const s = side / 2 ** (l + 1);
    convs.push(conv(s, s, outer, inner, 4, l === 0));
    convs.push(convT(s, s, l === downs - 1 ? inner : 2 * inner, upOut, 4));
  }
  return convs;
}

export function discriminatorConvs(spec: DiscriminatorSpec, side: number): Conv[] {
  if (spec.netD === 'pixel') {
    return [conv(side, side, spec.inputNc, spec.ndf, 1, true), conv(side, side, spec.ndf, 2 * spec.ndf, 1), conv(side, side, 2 * spec.ndf, 1, 1)];
  }
  const convs: Conv[] = [];
  let s = side;
  let cin = spec.inputNc;
  const outs: number[] = [spec.ndf];
  for (let n = 1; n <= spec.nLayers; n++) outs.push(spec.ndf * Math.min(2 ** n, 8));
  outs.push(1);
  outs.forEach((cout, i) => {
    // k4 p1: stride 2 halves the side, stride 1 takes one off
    s = i < spec.nLayers ? Math.floor((s + 2 - 4) / 2) + 1 : s - 1;
    convs.push(conv(s, s, cin, cout, 4, i === 0));
    cin = cout;
  });
  return convs;
}

/** GFLOP of one forward pass. */
export function forwardGflop(convs: Conv[]): number {
  return (2 * convs.reduce((n, c) => n + c.macs, 0)) / 1e9;
}

/**
 * A forward pass plus its backward: the weight gradient (when the net is being
 * trained) and the input gradient of every layer (the first only when the
 * input itself needs one, e.g. a discriminator judging a generator's output).
 */
function passGflop(convs: Conv[], o: { weightGrad: boolean; inputGrad: boolean }): number {
  let macs = 0;
  for (const c of convs) {
    macs += c.macs;
    if (o.weightGrad) macs += c.macs;
    if (!c.first || o.inputGrad) macs += c.macs;
  }
  return (2 * macs) / 1e9;
}

/** One official CycleGAN optimize_parameters(): 6 generator passes (fake, rec, idt per direction), D in the G step, then D_A and D_B on real and pooled fake. */
export function cycleGanIterationGflop(g: GeneratorSpec, d: DiscriminatorSpec, side: number): number {
  const G = generatorConvs(g, side);
  const D = discriminatorConvs(d, side);
  const gen =
    4 * passGflop(G, { weightGrad: true, inputGrad: false }) + // G_A(A), G_B(B), idt G_A(B), G_B(A)
    2 * passGflop(G, { weightGrad: true, inputGrad: true }); // rec: G_B(fake_B), G_A(fake_A)
  const dInG = 2 * passGflop(D, { weightGrad: false, inputGrad: true });
  const dStep = 4 * passGflop(D, { weightGrad: true, inputGrad: false });
  return gen + dInG + dStep;
}

/** One official pix2pix optimize_parameters(): G(A); D step on fake and real pairs; G step through D(fake) with GAN + L1. */
export function pix2pixIterationGflop(g: GeneratorSpec, d: DiscriminatorSpec, side: number): number {
  const G = generatorConvs(g, side);
  const D = discriminatorConvs(d, side);
  const gen = passGflop(G, { weightGrad: true, inputGrad: false });
  const dStep = 2 * passGflop(D, { weightGrad: true, inputGrad: false });
  // D's forward on the fake pair is done again in the G step, then backward to its input
  const dInG = passGflop(D, { weightGrad: false, inputGrad: true });
  return gen + dStep + dInG;
}
