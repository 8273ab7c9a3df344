import { readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ModelFileError } from './modelFileError';
import { numelOf } from './dtypes';

// NumPy .npy (format versions 1-3), float32 little-endian C-order only: what the fixtures hold and what we write.

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = Buffer.from('\x93NUMPY', 'latin1');
const ALIGN = 64; // numpy.lib.format.ARRAY_ALIGN
const GROWTH_AXIS_MAX_DIGITS = 21; // numpy pads the header so the first axis can grow in place

/** Reads a .npy from a path or from bytes already in memory. Throws ModelFileError on anything but float32 '<f4' C-order. */
export function readNpy(source: Buffer | string): NpyArray {
  const file = typeof source === 'string' ? source : '<npy buffer>';
  const fail = (problem: string): never => {
    throw new ModelFileError(file, problem);
  };
  let buf: Buffer;
  if (typeof source === 'string') {
    try {
      buf = readFileSync(source);
    } catch (e) {
      return fail(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  } else buf = source;
  if (buf.length === 0) return fail('truncated: the file is empty (0 bytes)');
  const n = Math.min(buf.length, MAGIC.length);
  if (!buf.subarray(0, n).equals(MAGIC.subarray(0, n))) return fail('not a NumPy .npy file (no \\x93NUMPY magic)');
  if (buf.length < 10) return fail(`truncated: only ${buf.length} bytes`);
  const major = buf[6];
  if (major < 1 || major > 3) return fail(`unsupported .npy format version ${major}.${buf[7]}`);
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.length >= 12 ? buf.readUInt32LE(8) : fail('truncated: header length missing');
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) return fail(`truncated: header needs ${headerLen} bytes, ${buf.length - headerStart} left`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail('corrupt .npy header (descr, fortran_order or shape missing)');
  if (descr !== '<f4') return fail(`unsupported dtype '${descr}' (only float32 little-endian '<f4' is supported)`);
  if (fortran === 'True') return fail('Fortran-order arrays are not supported (save with C order)');
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!dims.every((d) => /^\d+L?$/.test(d))) return fail(`corrupt .npy header (shape (${shapeText}))`);
  const shape = dims.map((d) => Number.parseInt(d, 10));
  const numel = numelOf(shape);
  const have = buf.length - dataStart;
  if (have < numel * 4) return fail(`truncated: shape (${shape.join(', ')}) needs ${numel * 4} data bytes, ${have} present`);
  if (have > numel * 4) return fail(`${have - numel * 4} bytes beyond the data of shape (${shape.join(', ')}) (corrupt file?)`);
  const data = new Float32Array(numel);
  new Uint8Array(data.buffer).set(buf.subarray(dataStart));
  return { shape, data };
}

/** The bytes numpy.save writes for a float32 C-order array (format 1.0, or 2.0 for a huge header). */
export function encodeNpy(arr: NpyArray): Buffer {
  if (arr.data.length !== numelOf(arr.shape)) throw new Error(`${arr.data.length} values for shape [${arr.shape.join(', ')}]`);
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  if (arr.shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(arr.shape[0]).length);
  const wrap = (major: 1 | 2) => {
    const prefix = major === 1 ? 10 : 12;
    const pad = ALIGN - ((prefix + dict.length + 1) % ALIGN);
    const text = dict + ' '.repeat(pad) + '\n'; // numpy pads a whole ALIGN when already aligned
    const head = Buffer.alloc(prefix);
    MAGIC.copy(head);
    head[6] = major;
    if (major === 1) head.writeUInt16LE(text.length, 8);
    else head.writeUInt32LE(text.length, 8);
    return Buffer.concat([head, Buffer.from(text, 'latin1')]);
  };
  let head = wrap(1);
  if (head.length - 10 > 0xffff) head = wrap(2);
  return Buffer.concat([head, Buffer.from(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength)]);
}

/** Writes a .npy atomically (temporary file in the same folder, then rename). */
export function writeNpy(file: string, arr: NpyArray): void {
  const bytes = encodeNpy(arr);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, bytes, { flag: 'wx' });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
