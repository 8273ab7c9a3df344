// Training uses only images that decode: every training file is decoded once
// when a dataset opens (the same decoder and reasons as translate), and the
// ones that fail are left out and reported, instead of stopping a run hours
// in. Results are remembered per file (size + mtime) for the process, so the
// several opens of one start (and a resume in the server) decode once.
import { promises as fs } from 'node:fs';
import { decodeRgb, UnreadableImageError } from './imageIO';

export interface SkippedImage {
  /** Path relative to the dataset folder, forward slashes. */
  file: string;
  reason: string;
}

const checked = new Map<string, { stamp: string; reason: string | undefined }>();

async function stampOf(file: string): Promise<string | undefined> {
  const st = await fs.stat(file).catch(() => undefined);
  return st ? `${st.size}:${st.mtimeMs}:${st.isFile()}` : undefined;
}

/** Why `file` cannot be trained on, or undefined when it decodes. */
export async function unusableReason(file: string): Promise<string | undefined> {
  const stamp = await stampOf(file);
  const known = stamp && checked.get(file);
  if (known && known.stamp === stamp) return known.reason;
  let reason: string | undefined;
  try {
    await decodeRgb(file);
  } catch (e) {
    reason = e instanceof UnreadableImageError ? e.message : `cannot be read (${(e as Error).message.split('\n')[0]})`;
  }
  if (stamp) checked.set(file, { stamp, reason });
  return reason;
}

/** The files of `files` that decode, and the others with their reasons; `concurrency` decodes at a time. */
export async function usableImages(files: string[], concurrency = 4): Promise<{ usable: Set<string>; unusable: Map<string, string> }> {
  const usable = new Set<string>();
  const unusable = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++];
      const reason = await unusableReason(file);
      if (reason === undefined) usable.add(file);
      else unusable.set(file, reason);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return { usable, unusable };
}
