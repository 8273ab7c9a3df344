// npm run bench -- [--cases a,b,…] [--json out.json] [--pytorch] [--paired [--pairs N]] [--pytorch-best]
// Each case runs in its own child process (its peak RSS is its own); the
// figures are medians after warm-up, printed next to the official PyTorch
// reference and as a fraction of this machine's matMul rate on the same backend.
// --paired instead takes turns with PyTorch, pair by pair (bench/paired.ts);
// --pytorch-best gives PyTorch glibc settings that keep freed memory (torchEnv).
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ALL_CASES, INFER_CASES, TRAIN_CASES, median, runCase, type CaseResult } from './cases';
import { cycleGanIterationGflop, forwardGflop, generatorConvs, pix2pixIterationGflop } from './flops';
import { NO_TORCH, type PairedResult, findTorchPython, pairedCase, torchEnv } from './paired';
import { REFERENCE, REFERENCE_SOURCE, TARGET } from './reference';

const RESULT_TAG = 'BENCH_RESULT ';

interface Args {
  cases: string[];
  json?: string;
  pytorch: boolean;
  paired: boolean;
  /** PyTorch with glibc keeping freed memory, its fast mode here (bench/paired.ts torchEnv). */
  pytorchBest: boolean;
  /** Pairs per case in --paired mode; each case's own run count when absent. */
  pairs?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { cases: ALL_CASES, pytorch: false, paired: false, pytorchBest: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--cases') args.cases = argv[++i].split(',').filter(Boolean);
    else if (a === '--json') args.json = argv[++i];
    else if (a === '--pytorch') args.pytorch = true;
    else if (a === '--paired') args.paired = true;
    else if (a === '--pairs') args.pairs = Number(argv[++i]);
    else if (a === '--pytorch-best') args.pytorchBest = true;
    else throw new Error(`unknown argument ${a} (use --cases a,b --json file --pytorch --paired --pairs n --pytorch-best)`);
  }
  if (args.pairs !== undefined && !(Number.isInteger(args.pairs) && args.pairs > 0)) throw new Error('--pairs takes a positive whole number');
  const unknown = args.cases.filter((c) => !ALL_CASES.includes(c));
  if (unknown.length) throw new Error(`unknown case ${unknown.join(', ')}; cases: ${ALL_CASES.join(', ')}`);
  return args;
}

/** GFLOP of one iteration (training) or one image (translation), counted on the official networks. */
function gflopOf(name: string): number | undefined {
  const d = (inputNc: number) => ({ netD: 'basic' as const, ndf: 64, nLayers: 3, norm: 'instance' as const, inputNc });
  const t = TRAIN_CASES[name];
  if (t) {
    const g = { netG: t.netG, ngf: t.ngf, norm: 'instance' as const, inputNc: 3, outputNc: 3, useDropout: false };
    return t.model === 'cyclegan' ? cycleGanIterationGflop(g, d(3), t.side) : pix2pixIterationGflop(g, d(6), t.side);
  }
  const inf = INFER_CASES[name];
  return inf ? forwardGflop(generatorConvs(inf.spec, 256)) : undefined;
}

/**
 * The widest vector extension the CPU reports (Linux's /proc/cpuinfo, else
 * unknown): one model name ("AMD EPYC") covered an AVX-512 VM and an AVX2 one
 * whose figures are ~3x apart.
 */
function vectorExtension(): string {
  try {
    const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/));
    return ['avx512f', 'avx2', 'avx', 'sse4_2'].find((f) => flags.has(f)) ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function machine() {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    vector_extension: vectorExtension(),
    cores: os.availableParallelism(),
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load_average: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

type Result = CaseResult & { peak_rss_mb: number };

/** Runs one case (or "paired:<case>:<pairs>") in a child process; the child prints its result on a tagged line. */
function runChild<R = Result>(name: string): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', name], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_TAG));
      if (code !== 0 || !line) return reject(new Error(`case ${name} failed (exit ${code}):\n${out.slice(-2000)}`));
      resolve(JSON.parse(line.slice(RESULT_TAG.length)) as R);
    });
  });
}

async function child(name: string): Promise<void> {
  const [, paired, pairs, best] = /^paired:(\w+):(\d+):(best|shipped)$/.exec(name) ?? [];
  const r = paired ? await pairedCase(paired, Number(pairs), best === 'best') : await runCase(name);
  // maxRSS is in KiB; server_start reports its server process instead
  const peak = ('peak_rss_mb' in r ? r.peak_rss_mb : undefined) ?? process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${RESULT_TAG}${JSON.stringify({ ...r, peak_rss_mb: Number(peak.toFixed(1)) })}\n`);
  process.exit(0);
}

async function runPytorch(cases: string[], best: boolean): Promise<Record<string, Record<string, number>> | string> {
  const py = findTorchPython();
  if (!py) return `skipped: ${NO_TORCH}`;
  const wanted = cases.filter((c) => c in REFERENCE).concat('matmul');
  const outFile = path.join(os.tmpdir(), `dt-bench-torch-${process.pid}.json`);
  await new Promise<void>((resolve, reject) => {
    const p = spawn(py, [path.join(__dirname, 'pytorch_reference.py'), '--cases', wanted.join(','), '--json', outFile], { stdio: ['ignore', 'inherit', 'inherit'], env: torchEnv(best) });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pytorch_reference.py exited with ${code}`))));
  });
  const r = JSON.parse(await fs.readFile(outFile, 'utf8')) as { cases: Record<string, Record<string, number>> };
  await fs.rm(outFile, { force: true });
  return r.cases;
}

const fmt = (x: number | undefined, digits = 3) => (x === undefined || !Number.isFinite(x) ? '-' : x.toPrecision(digits));

/** --paired: each case with a PyTorch counterpart, taking turns with it pair by pair. */
async function paired(args: Args, m: ReturnType<typeof machine>): Promise<void> {
  if (!findTorchPython()) throw new Error(`--paired needs ${NO_TORCH}`);
  const names = args.cases.filter((c) => c in TARGET);
  if (!names.length) throw new Error(`--paired runs the cases with a PyTorch counterpart: ${Object.keys(TARGET).join(', ')}`);
  const cases: Record<string, PairedResult & { peak_rss_mb: number }> = {};
  for (const name of names) {
    const pairs = args.pairs ?? (TRAIN_CASES[name] ?? INFER_CASES[name]).runs;
    process.stderr.write(`running ${name}, ${pairs} pairs with PyTorch…\n`);
    cases[name] = await runChild(`paired:${name}:${pairs}:${args.pytorchBest ? 'best' : 'shipped'}`);
  }
  const torchMode = args.pytorchBest ? 'with glibc keeping freed memory (--pytorch-best)' : "with glibc's default malloc, as the official code runs";
  console.log(`\nours and bench/pytorch_reference.py (${torchMode}) taking turns, pair by pair; backend: ${Object.values(cases)[0].backend}`);
  console.log(['case', 'unit', 'ours', 'torch here', 'ours/torch', 'pairs meeting target', 'target'].join('\t'));
  for (const [name, r] of Object.entries(cases)) {
    const sign = r.unit === 's/iter' ? '≤' : '≥';
    console.log([name, r.unit, fmt(median(r.ours)), fmt(median(r.torch)), fmt(r.median_ratio), `${r.met} of ${r.ratios.length}`, `${sign} ${r.target}`].join('\t'));
  }
  if (args.json) {
    const round = (xs: number[]) => xs.map((x) => Number(x.toPrecision(4)));
    const summary = Object.fromEntries(Object.entries(cases).map(([name, r]) => [name, { ...r, ours: round(r.ours), torch: round(r.torch), ratios: round(r.ratios), median_ratio: Number(r.median_ratio.toFixed(3)) }]));
    await fs.writeFile(args.json, JSON.stringify({ machine: m, mode: 'paired', pytorch_malloc: args.pytorchBest ? 'keeps freed memory' : 'default', cases: summary }, null, 2) + '\n');
    console.log(`\nwrote ${args.json}`);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const m = machine();
  console.log(`machine: ${m.cpu} (${m.vector_extension}), ${m.cores} cores, ${m.memory_gb} GB, node ${m.node}, ${m.os}, load average ${m.load_average.join(' ')}`);
  if (args.paired) return paired(args, m);
  const matmul = await runChild('matmul');
  const rate = matmul.gflop_per_second as number;
  console.log(`backend: ${matmul.backend}; matMul rate ${rate.toFixed(1)} GFLOP/s (${matmul.note})`);
  const cases: Record<string, Result> = {};
  for (const name of args.cases) {
    process.stderr.write(`running ${name}…\n`);
    cases[name] = await runChild(name);
  }
  const torch = args.pytorch ? await runPytorch(args.cases, args.pytorchBest) : undefined;
  if (typeof torch === 'string') console.log(`pytorch: ${torch}`);
  const torchCases = typeof torch === 'object' ? torch : undefined;

  console.log(`\nreference: ${REFERENCE_SOURCE}${torchCases ? `; "torch here" measured now in this session${args.pytorchBest ? ' with glibc keeping freed memory' : ''} (matMul ${fmt(torchCases.matmul?.gflop_per_second)} GFLOP/s)` : ''}`);
  console.log(['case', 'ours', 'unit', 'ref', 'ours/ref', 'target', torchCases ? 'torch here' : '', torchCases ? 'ours/torch' : '', 'GFLOP', '% matMul', 'peak RSS MB'].join('\t'));
  const summary: Record<string, unknown> = {};
  for (const [name, r] of Object.entries(cases)) {
    const perIter = r.seconds_per_iteration;
    const ips = r.images_per_second;
    const ref = REFERENCE[name];
    const t = torchCases?.[name];
    const gflop = gflopOf(name);
    // time ratios for training (lower is better), speed ratios for images/s (higher is better)
    const ratio = (other: Record<string, number> | undefined) => (!other ? undefined : perIter !== undefined && 'seconds_per_iteration' in other ? perIter / other.seconds_per_iteration : ips !== undefined && 'images_per_second' in other ? ips / other.images_per_second : undefined);
    const flopRate = gflop === undefined ? undefined : perIter !== undefined && name !== 'server_start' ? gflop / perIter : ips !== undefined ? gflop * ips : undefined;
    const fraction = flopRate === undefined ? undefined : flopRate / rate;
    const value = perIter ?? ips;
    const unit = perIter !== undefined ? (name === 'server_start' ? 's to answer' : 's/iter') : 'images/s';
    console.log([name, fmt(value), unit, fmt(ref && Object.values(ref)[0]), fmt(ratio(ref)), TARGET[name] ?? '-', torchCases ? fmt(t && Object.values(t)[0]) : '', torchCases ? fmt(ratio(t)) : '', fmt(gflop, 4), fraction === undefined ? '-' : `${(100 * fraction).toFixed(0)}%`, fmt(r.peak_rss_mb, 4)].join('\t'));
    summary[name] = {
      ...(name === 'server_start' ? { seconds_to_first_answer: perIter } : perIter !== undefined ? { seconds_per_iteration: perIter } : { images_per_second: ips }),
      ...(r.cpu_seconds_per_iteration !== undefined ? { cpu_seconds_per_iteration: Number(r.cpu_seconds_per_iteration.toPrecision(4)) } : {}),
      peak_rss_mb: r.peak_rss_mb,
      samples: r.samples.map((s) => Number(s.toPrecision(4))),
      ...(gflop !== undefined ? { gflop: Number(gflop.toFixed(2)), fraction_of_matmul_rate: Number((fraction as number).toFixed(3)) } : {}),
      ...(ref ? { reference: ref, ratio_to_reference: Number((ratio(ref) as number).toFixed(3)) } : {}),
      ...(t ? { pytorch_here: t, ratio_to_pytorch_here: Number((ratio(t) as number).toFixed(3)) } : {}),
      ...(r.note ? { note: r.note } : {}),
    };
  }
  if (args.json) {
    const out = { machine: m, backend: matmul.backend, matmul_gflop_per_second: Number(rate.toFixed(1)), reference: REFERENCE_SOURCE, ...(torchCases ? { pytorch: torchCases } : {}), cases: summary };
    await fs.writeFile(args.json, JSON.stringify(out, null, 2) + '\n');
    console.log(`\nwrote ${args.json}`);
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  child(process.argv[childAt + 1]).catch((err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  });
} else {
  main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
