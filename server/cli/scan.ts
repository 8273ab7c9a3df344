// `domain-translator scan <dataset-dir>`: the dataset view's checks from a shell.
import * as path from 'node:path';
import { scanDataset } from '../data/checks/scanDataset';
import { DEFAULT_THRESHOLDS, ISSUE_KINDS, resolveThresholds, type Thresholds } from '../data/checks/thresholds';
import type { ScanResult } from '../data/checks/types';
import { MANIFEST_NAME, readManifest } from '../data/manifest';
import { parseOptions, UsageError, type Command } from './command';

const HELP = `Usage: domain-translator scan <dataset-dir> [--json] [--threshold name=value ...]

Checks every image of a dataset folder (trainA/trainB/testA/testB, aligned
train/ val/, paired A/ B/, or a single folder) and lists problems by kind:
${ISSUE_KINDS.join(', ')}.
Reads images only; never changes a file. Thresholds come from the defaults,
then "thresholds" in ${MANIFEST_NAME}, then --threshold.

Options:
  --json                    print {"layout", "splits", "issues": [{"file", "kind", "detail"}]} on stdout
  --threshold name=value    override a threshold (repeatable); names: ${Object.keys(DEFAULT_THRESHOLDS).join(', ')}
  -h, --help                show this help`;

const OPTIONS = {
  json: { type: 'boolean' },
  threshold: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseThresholds(values: string[]): Partial<Thresholds> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(v);
    if (!m || !Number.isFinite(Number(m[2]))) throw new UsageError(`--threshold must look like name=number, got "${v}"`);
    out[m[1]] = Number(m[2]);
  }
  try {
    resolveThresholds(out);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return out;
}

function humanSummary(dir: string, r: ScanResult, seconds: number): string {
  const total = r.images.length;
  const lines = [
    `${dir}: ${r.layout} · ${Object.entries(r.splits).map(([s, n]) => `${s} ${n}`).join(' · ')}`,
    `${total} image${total === 1 ? '' : 's'} scanned in ${seconds.toFixed(1)} s (${(total / Math.max(seconds, 1e-3)).toFixed(0)} images/s); ` +
      `${r.issues.length} issue${r.issues.length === 1 ? '' : 's'}${r.cancelled ? ' (cancelled)' : ''}`,
  ];
  const width = Math.max(...ISSUE_KINDS.map((k) => k.length));
  for (const kind of ISSUE_KINDS) {
    const of = r.issues.filter((i) => i.kind === kind);
    if (of.length === 0) continue;
    const examples = of.slice(0, 3).map((i) => i.file).join(', ') + (of.length > 3 ? ', …' : '');
    lines.push(`  ${kind.padEnd(width)}  ${String(of.length).padStart(5)}  ${examples}`);
  }
  if (r.issues.length === 0) lines.push('  no issues found');
  else lines.push('Run with --json for every file and detail.');
  return lines.join('\n');
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'check a dataset folder for broken, duplicate, leaked and out-of-place images',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOptions('scan', argv, OPTIONS);
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`scan takes one dataset folder, got ${positionals.length} (see domain-translator scan --help)`);
    const dir = positionals[0];
    const cli = parseThresholds(values.threshold ?? []);
    const manifest = await readManifest(path.resolve(dir)).catch((e: Error) => {
      if (/ENOTDIR|ENOENT/.test(e.message)) return undefined;
      throw e;
    });
    const started = performance.now();
    const showProgress = process.stderr.isTTY && !values.json;
    const result = await scanDataset(path.resolve(dir), {
      thresholds: { ...manifest?.thresholds, ...cli },
      onProgress: showProgress ? (done, total) => process.stderr.write(`\r\x1b[K${done}/${total} images`) : undefined,
    });
    if (showProgress) process.stderr.write('\r\x1b[K');
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ layout: result.layout, splits: result.splits, issues: result.issues }, null, 2)}\n`);
    } else {
      process.stdout.write(`${humanSummary(dir, result, seconds)}\n`);
    }
    return 0;
  },
};
