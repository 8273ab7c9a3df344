import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ModelFileError } from './modelFileError';
import { ZipReader, TorchZipWriter } from './zip';
import { unpickle, describe, PyDict, PyTensor, PyTuple, type PyStorage, type PyValue } from './pickle';
import { pickleStateDict, type PickledTensor } from './pickleWriter';
import { ELEMENT_SIZE, contiguousStrides, decodeTensor, encodeTensor, numelOf } from './dtypes';
import type { ModuleMetadata, StateDict, StoredDtype, StoredTensor } from './stateDict';

// torch.save's legacy (pre-1.6) stream starts with pickle.dump(0x1950a86a20f9469cfc6c): PROTO n, (FRAME,) LONG1 10 bytes.
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_MAGIC_LONG1 = Buffer.from([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
const LEGACY_HEADER = Buffer.concat([Buffer.from([0x80, 0x02]), LEGACY_MAGIC_LONG1]); // the default, protocol 2
const LEGACY_PROTOCOL_VERSION = 1001;
const ZIP_LOCAL = Buffer.from('PK\x03\x04', 'latin1');
const ZIP_EMPTY = Buffer.from('PK\x05\x06', 'latin1');

// `_metadata` of each state dict read, so writePth can write it back unchanged.
const metadataOf = new WeakMap<StateDict, ModuleMetadata>();

/** The `_metadata` (module prefix → { version }) a state dict was read with, if any. */
export function stateDictMetadata(sd: StateDict): ModuleMetadata | undefined {
  return metadataOf.get(sd);
}

/**
 * Reads a checkpoint written by `torch.save(state_dict)` (zip, or the legacy pre-1.6 stream). Never executes anything.
 * Float32 tensors are views into the file's bytes where possible (one read, no second copy).
 */
export async function readPth(file: string): Promise<StateDict> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    throw new ModelFileError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parsePth(buf, file);
}

/**
 * readPth on bytes already in memory; `file` names the source in errors. Float32 tensors may be views into `buf`
 * (no copy), so `buf` must not be reused afterwards.
 */
export function parsePth(buf: Buffer, file: string): StateDict {
  if (buf.length === 0) throw new ModelFileError(file, 'truncated: the file is empty (0 bytes)');
  if (startsWith(buf, ZIP_LOCAL) || startsWith(buf, ZIP_EMPTY)) return readZipCheckpoint(buf, file);
  if (buf[0] === 0x80 && buf.subarray(0, 32).indexOf(LEGACY_MAGIC_LONG1) >= 0) return readLegacyCheckpoint(buf, file);
  if (buf.length < 14 && (startsWith(ZIP_LOCAL, buf) || startsWith(LEGACY_HEADER, buf))) {
    throw new ModelFileError(file, `truncated: only ${buf.length} bytes`);
  }
  if (buf.length >= 262 && buf.toString('latin1', 257, 262) === 'ustar') {
    throw new ModelFileError(file, 'a tar-format checkpoint from PyTorch < 0.4 (not supported): re-save it with a current PyTorch');
  }
  throw new ModelFileError(file, 'not a PyTorch checkpoint (no zip or legacy magic)');
}

function startsWith(buf: Uint8Array, prefix: Uint8Array): boolean {
  if (buf.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

function readZipCheckpoint(buf: Buffer, file: string): StateDict {
  const zip = new ZipReader(buf, file);
  const names = [...zip.entries.keys()];
  // TorchScript archives have a data.pkl too; constants.pkl tells them apart, as in torch.load
  if (names.some((n) => /^[^/]+\/constants\.pkl$/.test(n))) {
    throw new ModelFileError(file, 'a TorchScript archive (torch.jit.save), not a torch.save(state_dict) checkpoint');
  }
  const pkl = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length === 0) throw new ModelFileError(file, 'no data.pkl in the zip (not a torch.save checkpoint)');
  if (pkl.length > 1) throw new ModelFileError(file, `several data.pkl in the zip (${pkl.join(', ')})`);
  const prefix = pkl[0].slice(0, -'data.pkl'.length);
  const order = zip.entries.get(`${prefix}byteorder`);
  let littleEndian = true;
  if (order) {
    const text = zip.data(order).toString('latin1');
    if (text !== 'little' && text !== 'big') throw new ModelFileError(file, `unknown byteorder '${text.slice(0, 20)}'`);
    littleEndian = text === 'little';
  }
  const { value } = unpickle(zip.data(zip.entries.get(pkl[0])!), 0, file);
  const { tensors, metadata } = findStateDict(value, file);
  const storageBytes = new Map<string, Uint8Array>();
  const bytesOf = (s: PyStorage, tensorName: string): Uint8Array => {
    let bytes = storageBytes.get(s.key);
    if (!bytes) {
      const entry = zip.entries.get(`${prefix}data/${s.key}`);
      if (!entry) throw new ModelFileError(file, `storage data/${s.key} missing from the zip (tensor '${tensorName}')`);
      bytes = zip.data(entry);
      storageBytes.set(s.key, bytes);
    }
    return bytes;
  };
  return toStateDict(tensors, metadata, bytesOf, littleEndian, file);
}

function readLegacyCheckpoint(buf: Buffer, file: string): StateDict {
  const magic = unpickle(buf, 0, file);
  if (magic.value !== LEGACY_MAGIC) throw new ModelFileError(file, 'not a PyTorch checkpoint (no zip or legacy magic)');
  const version = unpickle(buf, magic.end, file);
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new ModelFileError(file, `unsupported legacy checkpoint protocol ${String(version.value)} (expected ${LEGACY_PROTOCOL_VERSION})`);
  }
  // sys_info (byte order, type sizes) is informational: torch writes legacy storages little-endian on every host
  const sysInfo = unpickle(buf, version.end, file);
  const main = unpickle(buf, sysInfo.end, file);
  const { tensors, metadata } = findStateDict(main.value, file);
  const keys = unpickle(buf, main.end, file);
  if (!Array.isArray(keys.value)) throw new ModelFileError(file, 'corrupt legacy checkpoint: the storage key list is missing');
  // Storages follow back to back, each an int64 element count then the raw elements, in the order of the key list.
  const roots = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const k of keys.value) {
    const key = typeof k === 'string' ? k : String(k);
    const ref = main.storages.get(key);
    if (!ref) throw new ModelFileError(file, `corrupt legacy checkpoint: storage ${key} is not referenced by the pickle`);
    if (pos + 8 > buf.length) throw new ModelFileError(file, `truncated: storage ${key} is missing`);
    const count = buf.readBigInt64LE(pos);
    pos += 8;
    const nbytes = Number(count) * ELEMENT_SIZE[ref.dtype];
    if (count < 0n || pos + nbytes > buf.length) {
      throw new ModelFileError(file, `truncated: storage ${key} needs ${nbytes} bytes, ${buf.length - pos} left`);
    }
    roots.set(key, buf.subarray(pos, pos + nbytes));
    pos += nbytes;
  }
  const bytesOf = (s: PyStorage, tensorName: string): Uint8Array => {
    const root = roots.get(s.key);
    if (!root) throw new ModelFileError(file, `storage ${s.key} missing from the checkpoint (tensor '${tensorName}')`);
    if (!s.view) return root;
    const size = ELEMENT_SIZE[s.dtype];
    const end = (s.view.offset + s.view.numel) * size;
    if (end > root.length) throw new ModelFileError(file, `storage ${s.key} too short for its view (tensor '${tensorName}')`);
    return root.subarray(s.view.offset * size, end);
  };
  return toStateDict(tensors, metadata, bytesOf, true, file);
}

interface FoundStateDict {
  tensors: [string, PyTensor][];
  metadata: ModuleMetadata | undefined;
}

const tensorEntries = (d: PyDict): [string, PyTensor][] | null => {
  if (d.map.size === 0) return null;
  const out: [string, PyTensor][] = [];
  for (const [k, v] of d.map) {
    if (typeof k !== 'string' || !(v instanceof PyTensor)) return null;
    out.push([k, v]);
  }
  return out;
};

/** The state dict itself, or the one dict of tensors a checkpoint wraps ({'state_dict': …}, {'model': …}); else an error. */
function findStateDict(value: PyValue, file: string): FoundStateDict {
  if (!(value instanceof PyDict)) throw new ModelFileError(file, `not a state_dict (top-level object is a ${describe(value)})`);
  const direct = tensorEntries(value);
  if (direct) return { tensors: direct, metadata: readMetadata(value) };
  if (value.map.size === 0) throw new ModelFileError(file, 'not a state_dict (top-level object is an empty dict)');
  const entries = [...value.map];
  if (entries.some(([, v]) => v instanceof PyTensor)) {
    const [k, v] = entries.find(([key, v]) => typeof key !== 'string' || !(v instanceof PyTensor))!;
    throw new ModelFileError(file, `not a plain state_dict (entry ${typeof k === 'string' ? `'${k}'` : describe(k)} holds a ${describe(v)}, not a tensor)`);
  }
  const candidates: [string, PyDict, [string, PyTensor][]][] = [];
  for (const [k, v] of value.map) {
    const entries = v instanceof PyDict ? tensorEntries(v) : null;
    if (entries) candidates.push([String(k), v as PyDict, entries]);
  }
  const keyList = [...value.map.keys()].slice(0, 8).map((k) => (typeof k === 'string' ? `'${k}'` : describe(k)));
  const keys = keyList.join(', ') + (value.map.size > 8 ? ', …' : '');
  if (candidates.length === 1) return { tensors: candidates[0][2], metadata: readMetadata(candidates[0][1]) };
  if (candidates.length > 1) {
    throw new ModelFileError(file, `not a state_dict (top-level object is a dict of several state dicts: ${candidates.map((c) => `'${c[0]}'`).join(', ')}; save one network per file)`);
  }
  throw new ModelFileError(file, `not a state_dict (top-level object is a dict of ${keys}, none of them a dict of tensors)`);
}

/** `_metadata` as torch's state_dict() sets it: {prefix: {'version': n}}; anything else is ignored. */
function readMetadata(d: PyDict): ModuleMetadata | undefined {
  const state = d.state;
  const meta = state instanceof PyDict ? state.map.get('_metadata') : state instanceof PyTuple && state.items[0] instanceof PyDict ? state.items[0].map.get('_metadata') : undefined;
  if (!(meta instanceof PyDict)) return undefined;
  const out: ModuleMetadata = new Map();
  for (const [prefix, fields] of meta.map) {
    if (typeof prefix !== 'string' || !(fields instanceof PyDict)) return undefined;
    const m = new Map<string, number>();
    for (const [k, v] of fields.map) {
      if (typeof k !== 'string' || typeof v !== 'number' || !Number.isSafeInteger(v)) return undefined;
      m.set(k, v);
    }
    out.set(prefix, m);
  }
  return out;
}

function toStateDict(
  tensors: [string, PyTensor][],
  metadata: ModuleMetadata | undefined,
  bytesOf: (s: PyStorage, tensorName: string) => Uint8Array,
  littleEndian: boolean,
  file: string,
): StateDict {
  const sd: StateDict = new Map();
  // a tensor may view the file's bytes only when no other tensor shares its storage (tied weights stay independent)
  const users = new Map<string, number>();
  for (const [, t] of tensors) users.set(t.storage.key, (users.get(t.storage.key) ?? 0) + 1);
  for (const [name, t] of tensors) {
    const { storage, offset, shape, stride } = t;
    const size = ELEMENT_SIZE[storage.dtype];
    const bytes = bytesOf(storage, name);
    const storageNumel = storage.view ? storage.view.numel : storage.numel;
    if (bytes.length < storageNumel * size) {
      throw new ModelFileError(file, `storage data/${storage.key} too short: ${bytes.length} bytes, tensor '${name}' needs ${storageNumel * size}`);
    }
    const numel = numelOf(shape);
    const last = numel === 0 ? 0 : offset + shape.reduce((s, d, i) => s + (d - 1) * stride[i], 0) + 1;
    if (numel > 0 && last > storageNumel) {
      throw new ModelFileError(file, `tensor '${name}' reaches element ${last} of storage ${storage.key}, which holds ${storageNumel}`);
    }
    const data = decodeTensor(bytes, storage.dtype, littleEndian, offset, shape, stride, users.get(storage.key) === 1);
    sd.set(name, { shape: [...shape], data, dtype: storage.dtype } satisfies StoredTensor);
  }
  if (metadata) metadataOf.set(sd, metadata);
  return sd;
}

export interface WritePthOptions {
  /** Element type to store per key (default: each tensor's own `dtype`). */
  dtypes?: Readonly<Record<string, StoredDtype>>;
  /** `_metadata` to write (default: what readPth found for this state dict, if anything). */
  metadata?: ModuleMetadata;
}

/**
 * Writes `sd` exactly as `torch.save(state_dict)` does (zip format, torch >= 1.6), so `torch.load` +
 * `load_state_dict` accept it. Atomic: a temporary file in the same folder is renamed over `file`.
 */
export async function writePth(file: string, sd: StateDict, opts: WritePthOptions = {}): Promise<void> {
  const pickled: PickledTensor[] = [];
  const numels: number[] = [];
  let i = 0;
  for (const [name, t] of sd) {
    const numel = numelOf(t.shape);
    if (t.data.length !== numel) throw new Error(`tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    pickled.push({ name, dtype: opts.dtypes?.[name] ?? t.dtype, storageKey: String(i++), shape: t.shape, stride: contiguousStrides(t.shape) });
    numels.push(numel);
  }
  const dataPkl = pickleStateDict(pickled, numels, opts.metadata ?? metadataOf.get(sd));
  // PyTorchStreamWriter names the archive folder after the file name up to its first dot
  const archive = path.basename(file).split('.')[0] || 'archive';
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, 'wx');
  try {
    const zip = new TorchZipWriter(fh, archive);
    await zip.writeRecord('data.pkl', dataPkl);
    await zip.writeRecord('.format_version', '1');
    await zip.writeRecord('.storage_alignment', '64');
    await zip.writeRecord('byteorder', 'little');
    let k = 0;
    for (const t of sd.values()) {
      const p = pickled[k++];
      await zip.writeRecord(`data/${p.storageKey}`, encodeTensor(t.data, p.dtype));
    }
    await zip.writeRecord('version', '3\n');
    await zip.writeRecord('.data/serialization_id', serializationId());
    await zip.finish();
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** PyTorch records a random id of two concatenated 64-bit decimals; any 40 digits do. */
function serializationId(): string {
  const b = randomBytes(16);
  return b.readBigUInt64LE(0).toString().padStart(20, '0') + b.readBigUInt64LE(8).toString().padStart(20, '0');
}
