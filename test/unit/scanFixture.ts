// Builds small datasets in a temp folder with one planted problem of every
// kind the scan reports, and hashes folders so tests can prove nothing changed.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { uniformRng as rng } from '../../server/models/rng';

export type Palette = 'red' | 'blue';

/** A 256x256 textured image: random colour cells of the palette, smoothly upscaled, plus fine noise. */
export async function texture(seed: number, palette: Palette, size = 256): Promise<sharp.Sharp> {
  const r = rng(seed);
  const cells = 12;
  const small = Buffer.alloc(cells * cells * 3);
  for (let i = 0; i < cells * cells; i++) {
    const hi = 140 + r() * 115;
    const mid = 40 + r() * 80;
    const lo = 10 + r() * 60;
    const [cr, cg, cb] = palette === 'red' ? [hi, mid, lo] : [lo, mid, hi];
    small[3 * i] = cr; small[3 * i + 1] = cg; small[3 * i + 2] = cb;
  }
  const base = await sharp(small, { raw: { width: cells, height: cells, channels: 3 } }).resize(size, size, { kernel: 'cubic' }).raw().toBuffer();
  for (let i = 0; i < base.length; i++) base[i] = Math.max(0, Math.min(255, base[i] + (r() - 0.5) * 50));
  return sharp(base, { raw: { width: size, height: size, channels: 3 } });
}

async function write(file: string, img: sharp.Sharp): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await img.toFile(file);
}

/** The files (relative) where each kind is planted in the unaligned dataset. */
export const PLANTED = {
  corrupt: ['trainA/truncated.jpg', 'trainA/text.jpg'],
  unsupported: ['trainA/vector.svg', 'trainA/layers.psd', 'trainA/drawing.png'],
  exact_duplicate: ['trainA/copy_of_a03.png'],
  near_duplicate: ['trainA/recompressed_a04.jpg'],
  dark: ['trainA/black.png'],
  light: ['trainA/white.png'],
  blurry: ['trainA/blurred.png'],
  low_information: ['trainA/flat.png'],
  grayscale: ['trainA/gray.png'],
  odd_size: ['trainA/tiny.png'],
  odd_aspect_ratio: ['trainA/wide.png'],
  split_leak: ['testA/leak_of_a05.jpg'],
  domain_outlier: ['trainA/bluish.png'],
} as const;

export const PLANTED_PAIRED = {
  missing_pair: ['A/p12.png'],
  pair_size_mismatch: ['A/p03.png'],
} as const;

/** An unaligned dataset (trainA/trainB/testA/testB) with every single-domain problem planted; returns its root. */
export async function makePlantedUnaligned(parent?: string): Promise<string> {
  const root = path.join(parent ?? await fs.mkdtemp(path.join(os.tmpdir(), 'dt-scan-')), 'planted');
  for (let i = 0; i < 20; i++) {
    await write(path.join(root, 'trainA', `a${String(i).padStart(2, '0')}.png`), await texture(100 + i, 'red'));
    await write(path.join(root, 'trainB', `b${String(i).padStart(2, '0')}.png`), await texture(200 + i, 'blue'));
  }
  for (let i = 0; i < 6; i++) {
    await write(path.join(root, 'testA', `ta${i}.png`), await texture(300 + i, 'red'));
    await write(path.join(root, 'testB', `tb${i}.png`), await texture(400 + i, 'blue'));
  }
  const A = (f: string) => path.join(root, f);
  const jpeg = await (await texture(500, 'red')).jpeg().toBuffer();
  await fs.writeFile(A('trainA/truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await fs.writeFile(A('trainA/text.jpg'), 'this is a text file, not a JPEG\n');
  await fs.writeFile(A('trainA/vector.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');
  await fs.writeFile(A('trainA/layers.psd'), Buffer.from('8BPS\u0000\u0001 not really a photoshop file'));
  await fs.writeFile(A('trainA/drawing.png'), '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
  await fs.copyFile(A('trainA/a03.png'), A('trainA/copy_of_a03.png'));
  await write(A('trainA/recompressed_a04.jpg'), sharp(A('trainA/a04.png')).jpeg({ quality: 90 }));
  await write(A('trainA/black.png'), sharp({ create: { width: 256, height: 256, channels: 3, background: '#000000' } }));
  await write(A('trainA/white.png'), sharp({ create: { width: 256, height: 256, channels: 3, background: '#ffffff' } }));
  await write(A('trainA/blurred.png'), sharp(await (await texture(501, 'red')).png().toBuffer()).blur(12));
  await write(A('trainA/flat.png'), sharp({ create: { width: 256, height: 256, channels: 3, background: '#d06030' } }));
  await write(A('trainA/gray.png'), sharp(await (await texture(502, 'red')).png().toBuffer()).grayscale().toColourspace('srgb'));
  await write(A('trainA/tiny.png'), await texture(503, 'red', 16));
  await write(A('trainA/wide.png'), sharp(await (await texture(504, 'red')).png().toBuffer()).resize(640, 128, { fit: 'fill' }));
  await write(A('testA/leak_of_a05.jpg'), sharp(A('trainA/a05.png')).jpeg({ quality: 85 }));
  await write(A('trainA/bluish.png'), await texture(505, 'blue'));
  return root;
}

/** Paired A/ and B/ folders matched by stem, with one A missing its B and one pair of different sizes. */
export async function makePlantedPaired(parent?: string): Promise<string> {
  const root = path.join(parent ?? await fs.mkdtemp(path.join(os.tmpdir(), 'dt-scan-')), 'paired');
  for (let i = 0; i < 12; i++) {
    const stem = `p${String(i).padStart(2, '0')}`;
    await write(path.join(root, 'A', `${stem}.png`), await texture(600 + i, 'red'));
    await write(path.join(root, 'B', `${stem}.jpg`), (await texture(700 + i, 'blue', i === 3 ? 128 : 256)).jpeg());
  }
  await write(path.join(root, 'A', 'p12.png'), await texture(612, 'red'));
  return root;
}

/** sha256 of every file under `dir` (following no links), keyed by relative path. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const bytes = await fs.readFile(p).catch(() => undefined);
        out.set(path.relative(dir, p), bytes ? createHash('sha256').update(bytes).digest('hex') : 'unreadable');
      }
    }
  };
  await walk(dir);
  return out;
}
