// `domain-translator train`: the training engine without VS Code. Prints one
// progress line per logged step and the run folder; Ctrl-C saves a checkpoint
// and stops (a second Ctrl-C exits at once), where a handler is safe (interrupt.ts).
import type { BackendName, Direction } from '../../protocol/server';
import type { GanMode, ModelName, NetG, Norm, PresetName, Preprocess } from '../options/options';
import { startTraining, type StartTrainingRequest } from '../train/session';
import { oneOf, parseOptions, UsageError, type Command } from './command';
import { catchCtrlC, type Interrupt } from './interrupt';

const HELP = `Usage: domain-translator train <dataset-dir> [options]

Trains CycleGAN (unpaired trainA/ + trainB/) or pix2pix (train/ with A|B images,
or A/ + B/) the official way, into a run folder with options.json, log.jsonl,
samples/ and checkpoints/ (latest_net_G_A.pth … as the official code saves them).

Options:
  --model cyclegan|pix2pix   default: cyclegan for unpaired data, pix2pix for paired
  --preset preview|standard|full
                             preview: 64 px (pix2pix 128 px), ngf 32, 6 blocks, 1000 steps
                             standard: 128 px, ngf 64, 20000 steps; full: official defaults, 200 epochs
  --iterations N             total steps of the run (a resumed run continues up to N)
  --epochs N                 or: N passes over the dataset
  --run <dir>                run folder (default .domain-translator/runs/<name> here)
  --name <name>              run name (default <model>-<preset>)
  --resume                   continue the run folder's latest complete checkpoint
  --direction AtoB|BtoA      which side is the input (facades: BtoA)
  --seed N                   seed of initial weights, shuffling, crops, flips, pool (default 0)
  Official options: --load-size --crop-size --ngf --ndf --netG --norm --lambda-A --lambda-B
  --lambda-identity --lambda-L1 --batch-size --lr --beta1 --n-epochs --n-epochs-decay
  --preprocess --no-flip --gan-mode --pool-size --serial-batches
  --print-every N --sample-every N --save-every N --keep-every N
                             steps between log lines, sample strips, latest checkpoint, kept step-N checkpoints
  --backend tensorflow|wasm|cpu
  -h, --help`;

const OPTIONS = {
  model: { type: 'string' },
  preset: { type: 'string' },
  iterations: { type: 'string' },
  epochs: { type: 'string' },
  run: { type: 'string' },
  name: { type: 'string' },
  resume: { type: 'boolean' },
  direction: { type: 'string' },
  seed: { type: 'string' },
  'load-size': { type: 'string' },
  'crop-size': { type: 'string' },
  ngf: { type: 'string' },
  ndf: { type: 'string' },
  netG: { type: 'string' },
  norm: { type: 'string' },
  'lambda-A': { type: 'string' },
  'lambda-B': { type: 'string' },
  'lambda-identity': { type: 'string' },
  'lambda-L1': { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  beta1: { type: 'string' },
  'n-epochs': { type: 'string' },
  'n-epochs-decay': { type: 'string' },
  preprocess: { type: 'string' },
  'no-flip': { type: 'boolean' },
  'gan-mode': { type: 'string' },
  'pool-size': { type: 'string' },
  'serial-batches': { type: 'boolean' },
  'print-every': { type: 'string' },
  'sample-every': { type: 'string' },
  'save-every': { type: 'string' },
  'keep-every': { type: 'string' },
  backend: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function num(option: string, v: string | undefined, integer = true): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UsageError(`--${option} must be ${integer ? 'an integer' : 'a number'} (got "${v}")`);
  return n;
}

/** The request a command line describes (exported for tests). */
export function trainRequest(argv: string[]): StartTrainingRequest | 'help' {
  const { values: v, positionals } = parseOptions('train', argv, OPTIONS);
  if (v.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`one dataset folder expected, got ${positionals.length}`);
  if (positionals.length === 0 && !v.resume) throw new UsageError('missing <dataset-dir> (see domain-translator train --help)');
  if (v.iterations !== undefined && v.epochs !== undefined) throw new UsageError('give --iterations or --epochs, not both');
  return {
    dataroot: positionals[0] ?? '',
    model: oneOf<ModelName>('model', v.model, ['cyclegan', 'pix2pix']),
    preset: oneOf<PresetName>('preset', v.preset, ['preview', 'standard', 'full']),
    iterations: num('iterations', v.iterations),
    epochs: num('epochs', v.epochs),
    run: v.run,
    name: v.name,
    resume: v.resume,
    direction: oneOf<Direction>('direction', v.direction, ['AtoB', 'BtoA']),
    seed: num('seed', v.seed),
    load_size: num('load-size', v['load-size']),
    crop_size: num('crop-size', v['crop-size']),
    ngf: num('ngf', v.ngf),
    ndf: num('ndf', v.ndf),
    netG: oneOf<NetG>('netG', v.netG, ['resnet_9blocks', 'resnet_6blocks', 'unet_128', 'unet_256']),
    norm: oneOf<Norm>('norm', v.norm, ['instance', 'batch', 'none']),
    lambda_A: num('lambda-A', v['lambda-A'], false),
    lambda_B: num('lambda-B', v['lambda-B'], false),
    lambda_identity: num('lambda-identity', v['lambda-identity'], false),
    lambda_L1: num('lambda-L1', v['lambda-L1'], false),
    batch_size: num('batch-size', v['batch-size']),
    lr: num('lr', v.lr, false),
    beta1: num('beta1', v.beta1, false),
    n_epochs: num('n-epochs', v['n-epochs']),
    n_epochs_decay: num('n-epochs-decay', v['n-epochs-decay']),
    preprocess: oneOf<Preprocess>('preprocess', v.preprocess, ['resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop', 'none']),
    no_flip: v['no-flip'],
    gan_mode: oneOf<GanMode>('gan-mode', v['gan-mode'], ['lsgan', 'vanilla']),
    pool_size: num('pool-size', v['pool-size']),
    serial_batches: v['serial-batches'],
    print_every: num('print-every', v['print-every']),
    sample_every: num('sample-every', v['sample-every']),
    save_every: num('save-every', v['save-every']),
    keep_every: num('keep-every', v['keep-every']),
    backend: oneOf<BackendName>('backend', v.backend, ['tensorflow', 'wasm', 'cpu']),
  };
}

function fmtLosses(losses: Record<string, number>): string {
  return Object.entries(losses)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(' ');
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train CycleGAN or pix2pix on a dataset folder into a run folder',
  help: HELP,
  async run(argv) {
    const req = trainRequest(argv);
    if (req === 'help') {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    let interrupt: Interrupt | undefined;
    let total = 0;
    try {
      const result = await startTraining(
        { ...req, workspace: process.cwd() },
        {
          onStart: ({ runDir, options: o, backend, datasetSize, skipped }) => {
            total = o.iterations;
            interrupt = catchCtrlC('stopping after this step (checkpoint is being saved)');
            if (interrupt.unsafe) process.stderr.write(`note: ${interrupt.unsafe}; the last saved checkpoint stays\n`);
            if (skipped.length) {
              process.stderr.write(`warning: ${skipped.length} image${skipped.length > 1 ? 's' : ''} left out of training (they do not decode):\n${skipped.map((s) => `  ${s.file}: ${s.reason}\n`).join('')}`);
            }
            process.stdout.write(
              `${o.model} (${o.netG}, ngf ${o.ngf}, ${o.crop_size} px) on ${datasetSize} ${o.model === 'cyclegan' ? 'images per domain (max)' : 'pairs'}, ` +
                `${o.iterations} steps, backend ${backend.name}\nrun folder: ${runDir}\n`,
            );
          },
          onStep: (r) => {
            const eta = (total - r.step) * r.seconds_per_iteration;
            process.stdout.write(`step ${r.step}/${total} epoch ${r.epoch} lr ${r.lr.toExponential(2)} ${r.seconds_per_iteration.toFixed(2)} s/it eta ${Math.round(eta)} s | ${fmtLosses(r.losses)}\n`);
          },
          isCancelled: () => interrupt?.requested === true,
        },
      );
      const what = result.cancelled ? 'stopped' : result.startStep >= result.iterations ? 'already complete' : 'done';
      process.stdout.write(`${what} at step ${result.step}/${result.iterations}; checkpoint: ${result.runDir}/checkpoints/latest\ngenerators exported to ${result.exportDir} (.pth and tfjs)\n`);
      return 0;
    } finally {
      interrupt?.dispose();
    }
  },
};
