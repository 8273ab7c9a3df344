// Reading images into the tensors the official code feeds its networks, and
// writing network outputs back as PNG, with sharp (libvips: decodes and
// encodes on its own threads, so the event loop stays free for inference).
//
// Fidelity notes against the official PIL path (`Image.open(p).convert('RGB')`):
// - alpha is DROPPED, not flattened: PIL's convert('RGB') discards the alpha
//   channel (palette PNGs with transparency keep their palette colours), so we do too;
// - EXIF orientation is NOT applied: PIL's Image.open ignores it as well;
// - CMYK and images with an embedded ICC profile are converted to sRGB through
//   the profile (PIL would take the raw values); sRGB and profile-less images,
//   the usual case, decode to the same bytes;
// - 16-bit images are reduced to 8 bits; animated GIF/WebP give their first frame.
import * as tf from '@tensorflow/tfjs-core';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { sharpFailure } from './sharpError';

/**
 * Largest input accepted, in pixels. Stops decompression bombs (a small PNG
 * declaring 50000x50000) before anything is allocated; a generator on a
 * 67-megapixel image would already need tens of GB of activations.
 */
export const MAX_INPUT_PIXELS = 8192 * 8192;

/** Interleaved 8-bit pixels, row-major (HWC). */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** An image file that cannot be used; the message is the reason, without the file name. */
export class UnreadableImageError extends Error {
  override name = 'UnreadableImageError';
}

export type SniffedFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'avif' | 'bmp' | 'pnm' | 'heic';

/** Formats recognised by their first bytes that sharp's prebuilt libvips cannot decode. */
const UNSUPPORTED: Partial<Record<SniffedFormat, string>> = {
  bmp: 'BMP images are not supported; convert it to PNG',
  pnm: 'PPM/PGM images are not supported; convert it to PNG',
  heic: 'HEIC images are not supported; convert it to JPEG or PNG',
};

const ascii = (head: Uint8Array, from: number, to: number) => String.fromCharCode(...head.subarray(from, to));

/** The image format announced by a file's first bytes (16 are enough), if any. */
export function sniffFormat(head: Uint8Array): SniffedFormat | undefined {
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (ascii(head, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  const tiff = ascii(head, 0, 4);
  if (tiff === 'II*\0' || tiff === 'MM\0*' || tiff === 'II+\0' || tiff === 'MM\0+') return 'tiff';
  if (ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand)) return 'heic';
  }
  if (ascii(head, 0, 2) === 'BM') return 'bmp';
  if (/^P[1-6]\s$/.test(ascii(head, 0, 3))) return 'pnm';
  return undefined;
}

function fsReason(err: unknown): string | undefined {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT': return 'no such file (a broken link, or removed while translating)';
    case 'ELOOP': return 'symbolic link loop';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a folder, not an image file';
    default: return undefined;
  }
}

async function readImageFile(file: string, sync: boolean): Promise<Buffer> {
  try {
    // stat first: a FIFO or device named like an image would block readFile forever.
    const st = sync ? statSync(file) : await fs.stat(file);
    if (st.isDirectory()) throw new UnreadableImageError('is a folder, not an image file');
    if (!st.isFile()) throw new UnreadableImageError('not a regular file');
    if (st.size === 0) throw new UnreadableImageError('empty file (0 bytes)');
    return sync ? readFileSync(file) : await fs.readFile(file);
  } catch (err) {
    if (err instanceof UnreadableImageError) throw err;
    const reason = fsReason(err);
    if (reason) throw new UnreadableImageError(reason);
    throw err;
  }
}

async function declaredSize(buf: Buffer): Promise<string> {
  const m = await sharp(buf, { limitInputPixels: false }).metadata().catch(() => undefined);
  return m?.width && m.height ? `${m.width}x${m.height}` : 'its declared size';
}

/**
 * Decode a file to 3-channel 8-bit sRGB, like the official loader's
 * `Image.open(path).convert('RGB')`. Throws UnreadableImageError with a clear
 * reason for anything that is not a decodable image. `readSync` reads the file
 * synchronously (a few µs to ms), for a caller whose event loop is blocked for
 * long stretches: each step of an async read (stat, open, read, close) waits
 * for a turn of it, a synchronous read leaves only the decode to wait for.
 */
export async function decodeRgb(file: string, { readSync = false } = {}): Promise<Pixels> {
  const buf = await readImageFile(file, readSync);
  const format = sniffFormat(buf.subarray(0, 16));
  if (!format) throw new UnreadableImageError('not an image: the content is not JPEG, PNG, GIF, WebP, TIFF or AVIF');
  const unsupported = UNSUPPORTED[format];
  if (unsupported) throw new UnreadableImageError(unsupported);
  try {
    // failOn 'warning' rejects truncated data, as PIL does without LOAD_TRUNCATED_IMAGES.
    const { data, info } = await sharp(buf, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'warning' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new UnreadableImageError(`decoded to ${info.channels} channels, expected 3`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  } catch (err) {
    if (err instanceof UnreadableImageError) throw err;
    const message = sharpFailure(err, format);
    if (/exceeds pixel limit/i.test(message)) {
      throw new UnreadableImageError(`too large: ${await declaredSize(buf)} exceeds the limit of ${MAX_INPUT_PIXELS} pixels (8192x8192)`);
    }
    throw new UnreadableImageError(`corrupt or truncated ${format.toUpperCase()} data (${message})`);
  }
}

/** Resize with sharp's bicubic (Catmull-Rom, a = -0.5, like PIL's BICUBIC; both widen the kernel when shrinking). */
export async function resizePixels(img: Pixels, width: number, height: number): Promise<Pixels> {
  if (img.width === width && img.height === height) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: img.channels };
}

/** RGB to one channel with PIL's convert('L') integer formula (ITU-R 601-2 luma, rounded). */
export function toGray(img: Pixels): Pixels {
  if (img.channels === 1) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (img.data[j] * 19595 + img.data[j + 1] * 38470 + img.data[j + 2] * 7471 + 0x8000) >>> 16;
  }
  return { data: out, width: img.width, height: img.height, channels: 1 };
}

/**
 * Official `round(side / base) * base` with Python's round (half to even), so
 * a 250x190 image becomes 248x192 for base 4. Never below one base: the
 * official code would produce a zero-sized image for a 1x1 input and crash.
 */
export function roundToMultiple(side: number, base: number): number {
  const q = side / base;
  const f = Math.floor(q);
  const diff = q - f;
  const r = diff > 0.5 || (diff === 0.5 && f % 2 === 1) ? f + 1 : f;
  return Math.max(base, r * base);
}

// ToTensor then Normalize(0.5, 0.5): (x / 255 - 0.5) / 0.5, each step in float32.
const NORMALIZED = Float32Array.from({ length: 256 }, (_, x) => Math.fround(Math.fround(Math.fround(x / 255) - 0.5) / 0.5));

/** Images of one size to an [N, H, W, C] float32 tensor in [-1, 1], as the official transforms make each. */
export function pixelsToTensor(...imgs: Pixels[]): tf.Tensor4D {
  const [first] = imgs;
  if (!first) throw new Error('pixelsToTensor needs at least one image');
  const size = first.data.length;
  const values = new Float32Array(size * imgs.length);
  imgs.forEach((img, k) => {
    if (img.width !== first.width || img.height !== first.height || img.channels !== first.channels) {
      throw new Error(`one batch needs images of one size: ${img.width}x${img.height}x${img.channels} and ${first.width}x${first.height}x${first.channels}`);
    }
    for (let i = 0, o = k * size; i < size; i++, o++) values[o] = NORMALIZED[img.data[i]];
  });
  return tf.tensor4d(values, [imgs.length, first.height, first.width, first.channels]);
}

/**
 * The official tensor2im on each image of an [N, H, W, C] output: one channel
 * is tiled to three, then `(x + 1) / 2 * 255` in float32 and numpy's
 * `astype(uint8)`, which truncates; the clamp only guards against values
 * outside [-1, 1]. Disposes nothing it was given.
 */
export async function tensorToPixels(output: tf.Tensor4D): Promise<Pixels[]> {
  const [n, height, width, c] = output.shape;
  if (c !== 1 && c !== 3) throw new Error(`the model produced ${c} channels; only 1 or 3 can be saved as an image`);
  const pixels = tf.tidy(() => {
    const rgb = c === 1 ? tf.tile(output, [1, 1, 1, 3]) : output;
    const scaled = tf.mul(tf.div(tf.add(rgb, 1), 2), 255);
    return tf.cast(tf.clipByValue(tf.floor(scaled), 0, 255), 'int32');
  });
  try {
    const values = await pixels.data();
    const size = height * width * 3;
    return Array.from({ length: n }, (_, k) => ({ data: Uint8Array.from(values.subarray(k * size, (k + 1) * size)), width, height, channels: 3 as const }));
  } finally {
    pixels.dispose();
  }
}

/**
 * Write pixels as a PNG at `file`, never replacing an existing file, and never
 * leaving a partial file under the final name: the PNG goes to a hidden temp
 * file in the same folder, then is hard-linked into place (fails if the name
 * exists) or renamed where links are not supported. `size` resizes first.
 */
export async function writePng(img: Pixels, file: string, size?: { width: number; height: number }): Promise<void> {
  let pipeline = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
  if (size && (size.width !== img.width || size.height !== img.height)) {
    pipeline = pipeline.resize(size.width, size.height, { kernel: 'cubic', fit: 'fill' });
  }
  // zlib level 3 instead of 6: on horse2zebra's photos the same size (143 vs
  // 142 KB) for 28% less CPU, which translation shares with the generator
  const png = await pipeline.png({ compressionLevel: 3 }).toBuffer();
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.partial`);
  await fs.writeFile(tmp, png, { flag: 'wx' });
  try {
    try {
      await fs.link(tmp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new Error(`${file} already exists; translate never overwrites files`);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
      // No hard links on this file system: check, then rename (not atomic against a concurrent writer).
      if (await fs.lstat(file).then(() => true, () => false)) throw new Error(`${file} already exists; translate never overwrites files`);
      await fs.rename(tmp, file);
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
