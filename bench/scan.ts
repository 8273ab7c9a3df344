// Scan throughput on a generated 10,000-image folder (256x256 JPEG, in the OS
// temp folder), next to the plain sharp decode rate of the same files — the
// limit for any scan. Run: node --import tsx bench/scan.ts [count]
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { scanDataset } from '../server/data/checks/scanDataset';

const COUNT = Number(process.argv[2] ?? 10_000);
const SIZE = 256;

async function generate(root: string): Promise<string[]> {
  const files: string[] = [];
  let seed = 1;
  // Math.imul keeps the LCG exact in 32 bits (a plain multiply loses bits in a double and cycles early).
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  for (const split of ['trainA', 'trainB']) await fs.mkdir(path.join(root, split), { recursive: true });
  for (let i = 0; i < COUNT; i++) {
    const split = i % 2 ? 'trainB' : 'trainA';
    const cells = Buffer.alloc(8 * 8 * 3);
    for (let k = 0; k < cells.length; k++) cells[k] = rand() * 256;
    const file = path.join(root, split, `${String(i).padStart(5, '0')}.jpg`);
    await sharp(cells, { raw: { width: 8, height: 8, channels: 3 } }).resize(SIZE, SIZE, { kernel: 'cubic' })
      .blur(0.3 + rand()).jpeg({ quality: 90 }).toFile(file);
    files.push(file);
  }
  return files;
}

async function rate(files: string[], concurrency: number, decode: (file: string) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < files.length) await decode(files[next++]);
  }));
  return files.length / ((performance.now() - started) / 1000);
}

async function main() {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-bench-scan-'));
  try {
    let t = performance.now();
    const files = await generate(root);
    console.log(`generated ${files.length} ${SIZE}x${SIZE} JPEGs in ${((performance.now() - t) / 1000).toFixed(1)} s (${root})`);
    const concurrency = 3;
    // Warm the OS file cache so every measurement reads from memory alike.
    await Promise.all(files.slice(0, 1).map((f) => fs.readFile(f)));
    const full = await rate(files, concurrency, (f) => sharp(f).raw().toBuffer());
    const small = await rate(files, concurrency, (f) => sharp(f).resize(64, 64, { fit: 'fill' }).raw().toBuffer());
    t = performance.now();
    let peakRss = 0;
    const result = await scanDataset(root, { concurrency, onProgress: () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); } });
    const seconds = (performance.now() - t) / 1000;
    console.log(`cpus ${os.availableParallelism()}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), ${concurrency} decodes in flight`);
    console.log(`plain sharp full decode:           ${full.toFixed(0)} images/s`);
    console.log(`plain sharp decode to 64x64:       ${small.toFixed(0)} images/s`);
    console.log(`scan (all checks):                 ${(files.length / seconds).toFixed(0)} images/s (${seconds.toFixed(1)} s, ${result.issues.length} issues, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB)`);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

void main();
