// Builds the bad / unusual image corpus of issue 5 in a temp folder, with
// what translate must do with each file. Shared by imageIO, translate and CLI tests.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export type Expect = { kind: 'image'; width: number; height: number } | { kind: 'unreadable'; reason: RegExp } | { kind: 'nonImage' };

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG header declaring 50000x50000 RGB with a tiny IDAT: a decompression bomb. */
export function bombPng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(50000, 0);
  ihdr.writeUInt32BE(50000, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4096))), pngChunk('IEND', Buffer.alloc(0))]);
}

const noise = (width: number, height: number, channels: 3 | 4 = 3) =>
  sharp({ create: { width, height, channels, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });

/** name -> expected outcome; sizes are the decoded image sizes. */
export async function buildCorpus(dir: string): Promise<Map<string, Expect>> {
  const expect = new Map<string, Expect>();
  const put = async (name: string, data: Buffer | string, e: Expect) => {
    await fs.writeFile(path.join(dir, name), data);
    expect.set(name, e);
  };
  const image = (width: number, height: number): Expect => ({ kind: 'image', width, height });
  const jpeg = await noise(40, 32).jpeg().toBuffer();
  const png = await noise(40, 32).png().toBuffer();

  await put('zero.jpg', Buffer.alloc(0), { kind: 'unreadable', reason: /empty file/ });
  await put('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)), { kind: 'unreadable', reason: /corrupt or truncated JPEG/ });
  await put('truncated.png', png.subarray(0, Math.floor(png.length / 2)), { kind: 'unreadable', reason: /corrupt or truncated PNG/ });
  await put('text.jpg', 'this is not a picture\n', { kind: 'unreadable', reason: /not an image/ });
  await put('bomb.png', bombPng(), { kind: 'unreadable', reason: /too large: 50000x50000/ });
  await put('old.bmp', Buffer.from('Qk06AAAAAAAAADYAAAAoAAAAAQAAAAEAAAABABgAAAAAAAQAAAATCwAAEwsAAAAAAAAAAAAA/wAAAA==', 'base64'),
    { kind: 'unreadable', reason: /BMP images are not supported/ });
  await fs.mkdir(path.join(dir, 'folder.jpg'));
  expect.set('folder.jpg', { kind: 'unreadable', reason: /is a folder/ });
  // A FIFO named like an image: reading it would block forever.
  assert.equal(spawnSync('mkfifo', [path.join(dir, 'fifo.jpg')]).status, 0, 'mkfifo failed');
  expect.set('fifo.jpg', { kind: 'unreadable', reason: /not a regular file/ });
  await fs.symlink('loop.png', path.join(dir, 'loop.png'));
  expect.set('loop.png', { kind: 'unreadable', reason: /symbolic link loop/ });

  await put('cmyk.jpg', await noise(40, 32).toColourspace('cmyk').jpeg().toBuffer(), image(40, 32));
  await put('sixteen.png', await noise(40, 32).toColourspace('rgb16').png().toBuffer(), image(40, 32));
  await put('palette.png', await noise(40, 32, 4).png({ palette: true }).toBuffer(), image(40, 32));
  await put('alpha.png', await noise(40, 32, 4).png().toBuffer(), image(40, 32));
  await put('gray.png', await noise(40, 32).grayscale().png().toBuffer(), image(40, 32));
  const frame = (colour: string) => sharp({ create: { width: 24, height: 16, channels: 3, background: colour } }).png().toBuffer();
  await put('animated.gif', await sharp([await frame('red'), await frame('blue')], { join: { animated: true } }).gif().toBuffer(), image(24, 16));
  await put('photo.webp', await noise(40, 32).webp().toBuffer(), image(40, 32));
  await put('photo.tiff', await noise(40, 32).tiff().toBuffer(), image(40, 32));
  await put('tiny.png', await noise(1, 1).png().toBuffer(), image(1, 1));
  await put('café 写真.png', png, image(40, 32));
  await put('no-extension', jpeg, image(40, 32)); // a JPEG without extension: found by its content

  await put('notes.txt', 'not an image\n', { kind: 'nonImage' });
  await put('README', 'plain text without extension\n', { kind: 'nonImage' });
  await fs.mkdir(path.join(dir, 'subfolder'));
  await fs.writeFile(path.join(dir, 'subfolder', 'inner.png'), png); // not recursive: never read
  return expect;
}

/** sha256 of every entry below `dir` (links by target text, folders by name), to prove nothing changed. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      const st = await fs.lstat(p);
      const meta = `${st.mode}:${st.size}:${st.mtimeMs}`;
      if (e.isSymbolicLink()) out.set(p, `link:${await fs.readlink(p)}:${meta}`);
      else if (e.isDirectory()) {
        out.set(p, `dir:${meta}`);
        await walk(p);
      } else if (!e.isFile()) {
        out.set(p, `special:${meta}`); // FIFOs and the like: never opened
      } else {
        let content = 'unreadable';
        try {
          content = createHash('sha256').update(await fs.readFile(p)).digest('hex');
        } catch {
          /* a file this process may not read: mode, size and mtime still cover it */
        }
        out.set(p, `${content}:${meta}`);
      }
    }
  };
  await walk(dir);
  return out;
}
