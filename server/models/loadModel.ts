// What a model file holds, and its generator ready to run. For now a model is an
// official-format .pth state dict; training run folders and tfjs models follow.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Direction, ModelSummary } from '../../protocol/server';
import { ModelFileError } from '../io/modelFileError';
import { readPth } from '../io/pth';
import type { StateDict } from '../io/stateDict';
import { type DetectedNetwork, detectNetwork } from './detect';
import { expectedParams, isTrainable } from './layout';
import { Generator } from './network';
import { architectureName, sizeMultiple } from './spec';

function summarise(file: string, net: DetectedNetwork): ModelSummary {
  const parameters = expectedParams(net.spec)
    .filter((e) => isTrainable(e.kind))
    .reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  const common = { path: file, format: 'pth' as const, architecture: architectureName(net.spec), norm: net.spec.norm, inputNc: net.spec.inputNc, parameters, sizeMultiple: sizeMultiple(net.spec) };
  return net.role === 'generator'
    ? { ...common, role: 'generator', ngf: net.spec.ngf, outputNc: net.spec.outputNc }
    : { ...common, role: 'discriminator', ngf: net.spec.ndf, outputNc: 1 };
}

async function readModel(file: string): Promise<{ sd: StateDict; net: DetectedNetwork; summary: ModelSummary }> {
  let isDir: boolean;
  try {
    isDir = (await fs.stat(file)).isDirectory();
  } catch (e) {
    throw new ModelFileError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (isDir) throw new ModelFileError(file, 'is a folder: training run folders are not supported yet; pick a .pth checkpoint');
  if (path.extname(file).toLowerCase() === '.json') throw new ModelFileError(file, 'tfjs models (model.json) are not supported yet; pick a .pth checkpoint');
  const sd = await readPth(file);
  const net = detectNetwork(sd, file);
  return { sd, net, summary: summarise(file, net) };
}

/** Architecture, role and sizes of a model file, from its keys and shapes; ModelFileError when it is not usable. */
export async function inspectModel(file: string): Promise<ModelSummary> {
  return (await readModel(file)).summary;
}

/**
 * The generator of a model file. A .pth holds one generator, so `direction` does not
 * choose anything yet (a run folder's G_A / G_B will); a discriminator is an error.
 */
export async function loadGenerator(file: string, _direction: Direction): Promise<{ summary: ModelSummary; generator: Generator }> {
  const { sd, net, summary } = await readModel(file);
  if (net.role !== 'generator') {
    throw new ModelFileError(file, `is a discriminator (${summary.architecture}), not a generator: pick a generator checkpoint such as latest_net_G_A.pth`);
  }
  return { summary, generator: Generator.fromStateDict(sd, net.spec, file) };
}
