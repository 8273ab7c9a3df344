// Small WebP previews for the dataset view, made by sharp and cached on disk.
// The key is the file's path, byte size and mtime plus the thumbnail size, so
// an edited image gets a new thumbnail and an unchanged one is never redone.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';

/** The OS cache folder: $XDG_CACHE_HOME, ~/Library/Caches, %LOCALAPPDATA%, else ~/.cache. */
export function defaultThumbnailDir(): string {
  const home = os.homedir();
  const base = process.env.XDG_CACHE_HOME
    ?? (process.platform === 'darwin' ? path.join(home, 'Library', 'Caches')
      : process.platform === 'win32' ? (process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'))
        : path.join(home, '.cache'));
  return path.join(base, 'domain-translator', 'thumbnails');
}

export async function thumbnailKey(file: string, size: number): Promise<string> {
  const abs = path.resolve(file);
  const st = await fs.stat(abs);
  return createHash('sha1').update(`${abs}\u0000${st.size}\u0000${st.mtimeMs}\u0000${size}`).digest('hex');
}

const inFlight = new Map<string, Promise<string>>();

/** Path of a cached WebP at most `size` px on its longer side; made (once) if missing. Throws for an unreadable image. */
export async function thumbnail(file: string, size: number, cacheDir = defaultThumbnailDir()): Promise<string> {
  const key = await thumbnailKey(file, size);
  const out = path.join(cacheDir, key.slice(0, 2), `${key}.webp`);
  const pending = inFlight.get(out);
  if (pending) return pending;
  const make = (async () => {
    if (await fs.access(out).then(() => true, () => false)) return out;
    await fs.mkdir(path.dirname(out), { recursive: true });
    const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await sharp(file).rotate().resize(size, size, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toFile(tmp);
      await fs.rename(tmp, out);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    return out;
  })();
  inFlight.set(out, make);
  try {
    return await make;
  } finally {
    inFlight.delete(out);
  }
}
