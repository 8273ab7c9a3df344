// Which of the files a user pointed at are images to translate: a folder's
// direct entries (not recursive, like an official test folder) or a list of
// files. A file counts as an image when its extension says so (decoding later
// says why it cannot be read if it is not) or when its first bytes are an
// image signature; anything else is a non-image and is only counted.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sniffFormat } from './imageIO';
import { hasImageExtension } from './layout';

export interface InputListing {
  /** The folder translated, when the input was one folder. */
  folder?: string;
  /** Image candidates (absolute paths), sorted by name as the official make_dataset sorts. */
  images: string[];
  /** Files skipped because they are not images. */
  nonImages: string[];
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function startsLikeImage(file: string): Promise<boolean> {
  let handle: fs.FileHandle | undefined;
  try {
    // stat first: opening a FIFO would block.
    if (!(await fs.stat(file)).isFile()) return false;
    handle = await fs.open(file, 'r');
    const head = new Uint8Array(16);
    const { bytesRead } = await handle.read(head, 0, 16, 0);
    return sniffFormat(head.subarray(0, bytesRead)) !== undefined;
  } catch {
    // Unreadable and not named like an image: nothing says it is one.
    return false;
  } finally {
    await handle?.close();
  }
}

/**
 * List what to translate. `inputs` is one folder or one or more files; a
 * missing input, or a folder mixed with other inputs, is an error naming it.
 */
export async function listInputs(inputs: string[]): Promise<InputListing> {
  if (inputs.length === 0) throw new Error('no input given');
  const stats = await Promise.all(inputs.map(async (p) => {
    try {
      return await fs.stat(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`${p}: ${code === 'ENOENT' ? 'no such file or folder' : (err as Error).message.split('\n')[0]}`);
    }
  }));
  if (stats.some((s) => s.isDirectory())) {
    if (inputs.length > 1) throw new Error('give one folder, or image files, not both');
    const folder = path.resolve(inputs[0]);
    const entries = await fs.readdir(folder, { withFileTypes: true });
    entries.sort((a, b) => byCodeUnit(a.name, b.name));
    const images: string[] = [];
    const nonImages: string[] = [];
    for (const e of entries) {
      const file = path.join(folder, e.name);
      if (hasImageExtension(e.name)) images.push(file);
      else if (e.isDirectory()) continue; // subfolders are not inputs (not recursive)
      else if (await startsLikeImage(file)) images.push(file);
      else nonImages.push(file);
    }
    return { folder, images, nonImages };
  }
  const images: string[] = [];
  const nonImages: string[] = [];
  for (const p of inputs.map((i) => path.resolve(i))) {
    if (hasImageExtension(p) || (await startsLikeImage(p))) images.push(p);
    else nonImages.push(p);
  }
  return { images, nonImages };
}
