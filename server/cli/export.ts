// `domain-translator export`: a run's generators as official .pth files and tfjs models.
import * as path from 'node:path';
import { EXPORT_FORMATS, exportRun, type ExportFormat } from '../train/export';
import { oneOf, parseOptions, UsageError, type Command } from './command';

const HELP = `Usage: domain-translator export <run-dir> [--format pth|tfjs] [--out <dir>]

Writes the generators of a training run's latest complete checkpoint
(CycleGAN: G_A and G_B; pix2pix: G) as
  latest_net_G_A.pth …      official-format state dicts (the official test.py loads them)
  tfjs-G_A/model.json …     tfjs weights manifest + group1-shard1of1.bin, with the
                            network spec in a "domainTranslator" block (translate reads it)
Training writes the same export at the end of a run.

Options:
  --format pth|tfjs   only one format (default: both)
  --out <dir>         a new or empty folder (default: <run-dir>/export, replaced)
  -h, --help`;

const OPTIONS = {
  format: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const exportCommand: Command = {
  name: 'export',
  summary: "write a run's generators as official .pth files and tfjs models",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOptions('export', argv, OPTIONS);
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`one run folder expected, got ${positionals.length} (see domain-translator export --help)`);
    const format = oneOf<ExportFormat>('format', values.format, EXPORT_FORMATS);
    const result = await exportRun(path.resolve(positionals[0]), { formats: format ? [format] : undefined, out: values.out });
    process.stdout.write(`exported step ${result.step} to ${result.dir}:\n${result.files.map((f) => `  ${f}`).join('\n')}\n`);
    return 0;
  },
};
