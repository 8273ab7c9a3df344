// `npm run bench -- --paired`: ours and bench/pytorch_reference.py take turns
// on the same cores, alternating who goes first. A training turn is one
// untimed iteration, which brings the side's memory back into the caches the
// other side used, then one timed; a translation turn is one pass over the
// folder. On this VM the speed drifts 10-30% from minute to minute; two runs
// minutes apart compare minutes as much as code, while each pair here shares
// its minute. The idle side waits on a pipe.
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { INFER_CASES, TRAIN_CASES, inferRunner, median, trainStepper } from './cases';
import { TARGET } from './reference';

/** Python with torch: BENCH_PYTHON, the /tmp/torchenv venv, or python3. */
export function findTorchPython(): string | undefined {
  for (const py of [process.env.BENCH_PYTHON, '/tmp/torchenv/bin/python', 'python3'].filter((p): p is string => !!p)) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return py;
    } catch {
      /* no torch there */
    }
  }
  return undefined;
}

/**
 * PyTorch's environment. With glibc's default malloc its speed here is bimodal
 * per process (unet_256 forward 2.1-2.3 or 11 images/s, system time 4.3 vs
 * 1.4 s): freed blocks go back to the OS and are faulted in again at the next
 * iteration. `best` keeps them (what TF's BFC allocator does for us), which
 * gives it its fast mode every time (unet_256 11.5-13.5 images/s, pix2pix
 * 0.49-0.58 s/it); without it PyTorch runs as the official code does.
 */
export function torchEnv(best: boolean): NodeJS.ProcessEnv {
  return best ? { ...process.env, MALLOC_MMAP_THRESHOLD_: String(2 ** 32), MALLOC_TRIM_THRESHOLD_: String(2 ** 32) } : process.env;
}

export const NO_TORCH = 'no python with torch (set BENCH_PYTHON, or python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install --no-index --find-links /opt/wheels torch)';

export interface PairedResult {
  unit: 's/iter' | 'images/s';
  ours: number[];
  torch: number[];
  /** Per pair: ours / torch (time for training, speed for translation). */
  ratios: number[];
  median_ratio: number;
  /** Pairs whose ratio meets the target. */
  met: number;
  target: number;
  backend: string;
}

/** pytorch_reference.py --serve <name>: ask(line) sends a request and resolves with its answer line. */
async function torchServer(py: string, name: string, best: boolean): Promise<{ ask(line: string): Promise<string>; close(): void }> {
  const p = spawn(py, [path.join(__dirname, 'pytorch_reference.py'), '--serve', name], { stdio: ['pipe', 'pipe', 'inherit'], env: torchEnv(best) });
  const lines = readline.createInterface({ input: p.stdout });
  const waiting: ((line: string) => void)[] = [];
  let ended: Error | undefined;
  lines.on('line', (line) => waiting.shift()?.(line));
  p.on('close', (code) => {
    ended = new Error(`pytorch_reference.py --serve ${name} exited with ${code}`);
    for (const w of waiting.splice(0)) w('');
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      if (ended) return reject(ended);
      waiting.push((line) => (ended && !line ? reject(ended) : resolve(line)));
    });
  const ready = await next();
  if (ready !== 'ready') throw new Error(`pytorch_reference.py --serve ${name} said ${JSON.stringify(ready)}`);
  return {
    ask: (line) => {
      const answer = next();
      p.stdin.write(`${line}\n`);
      return answer;
    },
    close: () => p.stdin.end(),
  };
}

/**
 * A pause between turns: work a side leaves behind when it goes idle (V8's
 * idle-time garbage collection, threads spinning down) must not run during
 * the other side's turn.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

/** `best`: PyTorch with glibc keeping freed memory (torchEnv). */
export async function pairedCase(name: string, pairs: number, best: boolean): Promise<PairedResult> {
  const py = findTorchPython();
  if (!py) throw new Error(NO_TORCH);
  const train = TRAIN_CASES[name];
  const infer = INFER_CASES[name];
  if (!train && !infer) throw new Error(`${name} has no PyTorch counterpart`);
  let ours: () => Promise<number>;
  let theirs: (ask: (line: string) => Promise<string>) => Promise<number>;
  let backend: string;
  let dispose = async (): Promise<void> => {};
  if (train) {
    const stepper = await trainStepper(train);
    for (let i = 0; i < train.warmup; i++) stepper.step();
    ours = async () => {
      stepper.step();
      return stepper.step().seconds;
    };
    theirs = async (ask) => Number(await ask('run 1 1'));
    backend = stepper.backend;
  } else {
    const runner = await inferRunner(infer);
    ours = () => runner.run();
    theirs = async (ask) => infer.images / Number(await ask(`run ${infer.images}`));
    backend = runner.backend;
    dispose = runner.dispose;
  }
  const result: PairedResult = { unit: train ? 's/iter' : 'images/s', ours: [], torch: [], ratios: [], median_ratio: NaN, met: 0, target: TARGET[name], backend };
  let torch: Awaited<ReturnType<typeof torchServer>> | undefined;
  try {
    torch = await torchServer(py, name, best);
    // one untimed pair: each side's first turn after the other's start-up runs cold
    await ours();
    await theirs(torch.ask);
    for (let i = 0; i < pairs; i++) {
      let a: number;
      let b: number;
      if (i % 2 === 0) {
        a = await ours();
        await settle();
        b = await theirs(torch.ask);
      } else {
        b = await theirs(torch.ask);
        await settle();
        a = await ours();
      }
      await settle();
      if (!Number.isFinite(b)) throw new Error(`pytorch_reference.py gave no time for ${name}`);
      result.ours.push(a);
      result.torch.push(b);
      result.ratios.push(a / b);
    }
  } finally {
    torch?.close();
    await dispose();
  }
  result.median_ratio = median(result.ratios);
  result.met = result.ratios.filter((r) => (train ? r <= result.target : r >= result.target)).length;
  return result;
}
