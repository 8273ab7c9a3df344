// What a model holds, and its generator ready to run. A model is an
// official-format .pth state dict, a training run folder (its latest complete
// checkpoint: G_A / G_B, or G) or a tfjs model.json exported by a run.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Direction, ModelSummary } from '../../protocol/server';
import { ModelFileError } from '../io/modelFileError';
import { readPth } from '../io/pth';
import type { StateDict } from '../io/stateDict';
import { type DetectedNetwork, detectNetwork } from './detect';
import { expectedParams, isTrainable } from './layout';
import { Generator } from './network';
import { isRunFolder, readRunGenerators } from './runFolder';
import { architectureName, sizeMultiple } from './spec';
import { MODEL_JSON, readTfjsModel } from './tfjsModel';

function summarise(file: string, net: DetectedNetwork, format: ModelSummary['format'], network?: string): ModelSummary {
  const parameters = expectedParams(net.spec)
    .filter((e) => isTrainable(e.kind))
    .reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  const common = { path: file, format, architecture: architectureName(net.spec), norm: net.spec.norm, inputNc: net.spec.inputNc, parameters, sizeMultiple: sizeMultiple(net.spec), ...(network ? { network } : {}) };
  return net.role === 'generator'
    ? { ...common, role: 'generator', ngf: net.spec.ngf, outputNc: net.spec.outputNc }
    : { ...common, role: 'discriminator', ngf: net.spec.ndf, outputNc: 1 };
}

async function readModel(file: string, direction: Direction | undefined): Promise<{ sd: StateDict; net: DetectedNetwork; summary: ModelSummary }> {
  let isDir: boolean;
  try {
    isDir = (await fs.stat(file)).isDirectory();
  } catch (e) {
    throw new ModelFileError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const modelJson = isDir ? path.join(file, MODEL_JSON) : file;
  if (isDir && (await isRunFolder(file))) {
    const [g] = await readRunGenerators(file, direction);
    const net: DetectedNetwork = { role: 'generator', spec: g.spec };
    return { sd: g.sd, net, summary: summarise(file, net, 'run', g.network) };
  }
  const isJson = path.extname(modelJson).toLowerCase() === '.json';
  if (isDir && !(await fs.stat(modelJson).then((s) => s.isFile(), () => false))) {
    throw new ModelFileError(file, 'is a folder but neither a training run folder (options.json + checkpoints/) nor a tfjs model folder (model.json); pick a .pth, a run folder or a model.json');
  }
  if (isJson) {
    const { spec, info, sd } = await readTfjsModel(modelJson);
    const net: DetectedNetwork = { role: 'generator', spec };
    return { sd, net, summary: summarise(file, net, 'tfjs', info.network) };
  }
  const sd = await readPth(file);
  const net = detectNetwork(sd, file);
  return { sd, net, summary: summarise(file, net, 'pth') };
}

/**
 * Architecture, role and sizes of a model, from its keys and shapes (a run
 * folder: the generator of `direction`, or without one the run's G_A / G);
 * ModelFileError when it is not usable.
 */
export async function inspectModel(file: string, direction?: Direction): Promise<ModelSummary> {
  return (await readModel(file, direction)).summary;
}

/**
 * The generator of a model. A .pth or model.json holds one generator, so
 * `direction` chooses only in a run folder (G_A / G_B); a discriminator is an error.
 */
export async function loadGenerator(file: string, direction: Direction): Promise<{ summary: ModelSummary; generator: Generator }> {
  const { sd, net, summary } = await readModel(file, direction);
  if (net.role !== 'generator') {
    throw new ModelFileError(file, `is a discriminator (${summary.architecture}), not a generator: pick a generator checkpoint such as latest_net_G_A.pth`);
  }
  return { summary, generator: Generator.fromStateDict(sd, net.spec, file) };
}
