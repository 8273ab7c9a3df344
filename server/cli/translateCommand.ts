// `domain-translator translate`: the explorer's "Translate to Domain B" without VS Code.
import * as path from 'node:path';
import type { BackendName, Direction, TranslateResult } from '../../protocol/server';
import { initBackend } from '../backend';
import { inspectModel } from '../models/loadModel';
import { planTranslation } from '../translate/pipeline';
import { translate } from '../translate/translate';
import { oneOf, parseOptions, UsageError, type Command } from './command';
import { catchCtrlC } from './interrupt';

const HELP = `Usage: domain-translator translate <input-folder-or-images...> --model <checkpoint> [options]

Translates every image of a folder (not recursive) or the given image files
with a generator, and writes PNGs with the same base names into a new folder
<folder>-to-B (or -to-A) next to the input; existing files are never replaced.

Options:
  --model <path>          generator: an official .pth (e.g. latest_net_G_A.pth), a run folder, or a tfjs model.json
  --out <dir>             output folder (created if needed; refuses to overwrite files in it)
  --direction AtoB|BtoA   which way to translate (default AtoB); a CycleGAN run folder uses G_A for AtoB and G_B
                          for BtoA; for a .pth or model.json it only names the output folder
  --eval                  official --eval: BatchNorm running statistics, no dropout
                          (default: like official test.py, batch statistics and dropout active)
  --keep-size             resize each output back to its input's size
  --backend <name>        tensorflow, wasm or cpu (default: the fastest that loads)
  -h, --help              show this help`;

const OPTIONS = {
  model: { type: 'string' },
  out: { type: 'string' },
  direction: { type: 'string' },
  eval: { type: 'boolean' },
  'keep-size': { type: 'boolean' },
  backend: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Progress on stderr: one rewritten line on a terminal, plain lines at most once a second otherwise. */
function progressPrinter(stream: NodeJS.WriteStream) {
  let lastLine = 0;
  let drawn = false;
  return {
    update(done: number, total: number, rate: number) {
      const text = `${done}/${total} images · ${rate.toFixed(1)} images/s`;
      if (stream.isTTY) {
        stream.write(`\r\x1b[K${text}`);
        drawn = true;
      } else if (Date.now() - lastLine >= 1000 || done === total) {
        lastLine = Date.now();
        stream.write(`${text}\n`);
      }
    },
    end() {
      if (drawn) stream.write('\n');
    },
  };
}

function summary(r: TranslateResult): string {
  const lines = [
    `${r.cancelled ? 'cancelled: ' : ''}translated ${r.translated.length} image${r.translated.length === 1 ? '' : 's'} → ${r.outDir}` +
      ` (${r.imagesPerSecond.toFixed(2)} images/s, ${r.seconds.toFixed(1)} s, ${r.backend})`,
    `model: ${r.model.architecture} generator, ngf ${r.model.ngf}, ${r.model.norm} norm (${r.model.path})`,
  ];
  if (r.unreadable.length) {
    lines.push(`unreadable ${r.unreadable.length}:`);
    for (const u of r.unreadable) lines.push(`  ${path.basename(u.input)}: ${u.reason}`);
  }
  if (r.nonImages) lines.push(`non-images skipped: ${r.nonImages}`);
  return lines.join('\n');
}

export const translateCommand: Command = {
  name: 'translate',
  summary: 'translate a folder or image files with a generator checkpoint',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOptions('translate', argv, OPTIONS);
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('missing <input-folder-or-images> (see domain-translator translate --help)');
    if (!values.model) throw new UsageError('missing --model <checkpoint> (see domain-translator translate --help)');
    const direction: Direction = oneOf('direction', values.direction, ['AtoB', 'BtoA'] as const) ?? 'AtoB';
    const backendName = oneOf<BackendName>('backend', values.backend, ['tensorflow', 'wasm', 'cpu']);

    const params = {
      inputs: positionals.map((p) => path.resolve(p)),
      model: path.resolve(values.model),
      direction,
      outDir: values.out === undefined ? undefined : path.resolve(values.out),
      eval: values.eval ?? false,
      keepSize: values['keep-size'] ?? false,
    };
    // Bad inputs and bad checkpoints fail before the backend loads: native TensorFlow
    // prints start-up lines of its own, and the user should see only the reason.
    const plan = await planTranslation(params);
    if (plan.listing.images.length === 0) {
      const where = plan.listing.folder ?? params.inputs.join(', ');
      throw new Error(`no images in ${where}${plan.listing.nonImages.length ? ` (${plan.listing.nonImages.length} non-image files)` : ''}`);
    }
    const model = await inspectModel(params.model, direction);
    if (model.role !== 'generator') {
      throw new Error(`${model.path}: is a ${model.architecture} discriminator, not a generator: pick a generator checkpoint such as latest_net_G_A.pth`);
    }
    const backend = await initBackend(backendName);
    process.stderr.write(`backend: ${backend.name} (tfjs ${backend.tfjsVersion}${backend.nativeKernels ? `; native kernels: ${backend.nativeKernels}` : ''})` +
      (backend.skipped.length ? `; not used: ${backend.skipped.join('; ')}` : '') + '\n');

    // Ctrl-C finishes the current image, keeps what was written, and stops.
    const interrupt = catchCtrlC('stopping after the current image');
    if (interrupt.unsafe) process.stderr.write(`note: ${interrupt.unsafe}\n`);
    const progress = progressPrinter(process.stderr);
    let result: TranslateResult;
    try {
      result = await translate(params, {
        onProgress: (done, total, rate) => progress.update(done, total, rate),
        isCancelled: () => interrupt.requested,
      });
    } finally {
      progress.end();
      interrupt.dispose();
    }
    process.stdout.write(`${summary(result)}\n`);
    if (result.cancelled) return 130;
    if (result.translated.length === 0) throw new Error(`no image could be translated (${result.unreadable.length} unreadable, listed in the summary)`);
    return 0;
  },
};
