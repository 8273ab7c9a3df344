// A training run folder as a model: options.json says which model and
// generator architecture it trained, and the most advanced complete checkpoint
// (checkpoints/latest, validated through its manifest) holds the weights.
// Directions name the dataset's folders (trainA → trainB is AtoB): CycleGAN's
// G_A translates the run's input side, so a run trained with --direction BtoA
// uses G_B for AtoB; a pix2pix run's G translates its own direction only.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Direction } from '../../protocol/server';
import { ModelFileError } from '../io/modelFileError';
import { readPth } from '../io/pth';
import type { StateDict } from '../io/stateDict';
import type { TrainOptions } from '../options/options';
import { findCheckpoint } from '../train/checkpoint';
import { generatorSpec } from '../train/nets';
import { layoutProblems } from './params';
import { type GeneratorSpec, describeSpec } from './spec';

export const RUN_OPTIONS = 'options.json';

export interface RunGenerator {
  /** G_A, G_B or G. */
  network: string;
  spec: GeneratorSpec;
  sd: StateDict;
  /** The checkpoint file the weights come from. */
  file: string;
  step: number;
}

/** True when `dir` looks like a run folder (has options.json). */
export async function isRunFolder(dir: string): Promise<boolean> {
  return fs.stat(path.join(dir, RUN_OPTIONS)).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function runOptions(dir: string): Promise<TrainOptions> {
  const file = path.join(dir, RUN_OPTIONS);
  let o: Partial<TrainOptions>;
  try {
    o = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<TrainOptions>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelFileError(dir, 'not a training run folder (no options.json)');
    throw new ModelFileError(file, code ? `cannot read (${code})` : `not valid JSON (${(e as Error).message})`);
  }
  if (o.model !== 'cyclegan' && o.model !== 'pix2pix') throw new ModelFileError(file, `model must be cyclegan or pix2pix (got ${JSON.stringify(o.model)})`);
  const bad: string[] = [];
  if (!['resnet_6blocks', 'resnet_9blocks', 'unet_128', 'unet_256'].includes(String(o.netG))) bad.push(`netG ${JSON.stringify(o.netG)}`);
  for (const k of ['ngf', 'input_nc', 'output_nc'] as const) if (!Number.isInteger(o[k]) || (o[k] as number) <= 0) bad.push(`${k} ${JSON.stringify(o[k])}`);
  if (!['instance', 'batch', 'none'].includes(String(o.norm))) bad.push(`norm ${JSON.stringify(o.norm)}`);
  if (bad.length) throw new ModelFileError(file, `cannot tell the generator: invalid ${bad.join(', ')}`);
  return o as TrainOptions;
}

/** Generator names of a run's model, in export order. */
export function runGeneratorNames(model: TrainOptions['model']): string[] {
  return model === 'cyclegan' ? ['G_A', 'G_B'] : ['G'];
}

/** The generator of `direction`, or every generator when `direction` is undefined. */
export async function readRunGenerators(dir: string, direction?: Direction): Promise<RunGenerator[]> {
  const o = await runOptions(dir);
  const runDirection: Direction = o.direction ?? 'AtoB';
  let names = runGeneratorNames(o.model);
  if (direction && o.model === 'cyclegan') names = [direction === runDirection ? 'G_A' : 'G_B'];
  if (direction && o.model === 'pix2pix') {
    if (direction !== runDirection) {
      throw new ModelFileError(dir, `this pix2pix run learned ${runDirection} only (its generator G); it cannot translate ${direction}`);
    }
  }
  const found = await findCheckpoint(path.join(dir, 'checkpoints'));
  if (!found) throw new ModelFileError(dir, 'training run folder without a complete checkpoint (checkpoints/latest is missing or incomplete): train or resume it first');
  const spec = generatorSpec(o);
  const out: RunGenerator[] = [];
  for (const network of names) {
    const file = path.join(found.dir, `latest_net_${network}.pth`);
    const sd = await readPth(file);
    const problems = layoutProblems(sd, spec);
    if (problems.length) throw new ModelFileError(file, `does not match the run's ${describeSpec(spec)} (options.json): ${problems.slice(0, 3).join('; ')}`);
    out.push({ network, spec, sd, file, step: found.step });
  }
  return out;
}
