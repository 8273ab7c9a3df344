import { storageClassOf } from './dtypes';
import type { ModuleMetadata, StoredDtype } from './stateDict';

/** What data.pkl says about one tensor: its storage record `data/<storageKey>` holds it contiguously from offset 0. */
export interface PickledTensor {
  name: string;
  dtype: StoredDtype;
  storageKey: string;
  shape: number[];
  stride: number[];
}

const BATCH = 1000; // CPython's Pickler._BATCHSIZE

/**
 * Emits the protocol-2 pickle CPython produces for `torch.save(state_dict)`: the same opcodes, memo numbering and
 * batching, so the bytes match what PyTorch writes for the same state dict.
 */
class StateDictPickler {
  private readonly chunks: Buffer[] = [];
  private memoSize = 0;
  // objects PyTorch shares between tensors (globals, the constant strings 'storage', 'cpu', 'version')
  private readonly shared = new Map<string, number>();

  op(...bytes: number[]): void {
    this.chunks.push(Buffer.from(bytes));
  }

  put(): void {
    const i = this.memoSize++;
    if (i < 256) this.op(0x71, i);
    else {
      const b = Buffer.alloc(5);
      b[0] = 0x72;
      b.writeUInt32LE(i, 1);
      this.chunks.push(b);
    }
  }

  private get(i: number): void {
    if (i < 256) this.op(0x68, i);
    else {
      const b = Buffer.alloc(5);
      b[0] = 0x6a;
      b.writeUInt32LE(i, 1);
      this.chunks.push(b);
    }
  }

  /** Emits a shared object once, then memo references to it. */
  private sharedObject(id: string, emit: () => void): void {
    const i = this.shared.get(id);
    if (i !== undefined) return this.get(i);
    emit();
    this.shared.set(id, this.memoSize);
    this.put();
  }

  global(module: string, name: string): void {
    this.sharedObject(`global:${module}.${name}`, () => this.chunks.push(Buffer.from(`c${module}\n${name}\n`, 'utf8')));
  }

  str(s: string, sharedConstant = false): void {
    const emit = () => {
      const b = Buffer.from(s, 'utf8');
      const h = Buffer.alloc(5);
      h[0] = 0x58; // BINUNICODE
      h.writeUInt32LE(b.length, 1);
      this.chunks.push(h, b);
    };
    if (sharedConstant) return this.sharedObject(`str:${s}`, emit);
    emit();
    this.put();
  }

  int(n: number): void {
    if (!Number.isSafeInteger(n)) throw new Error(`cannot pickle ${n} as an int`);
    if (n >= 0 && n <= 0xff) this.op(0x4b, n);
    else if (n >= 0 && n <= 0xffff) this.op(0x4d, n & 0xff, n >> 8);
    else if (n >= -0x80000000 && n <= 0x7fffffff) {
      const b = Buffer.alloc(5);
      b[0] = 0x4a;
      b.writeInt32LE(n, 1);
      this.chunks.push(b);
    } else {
      // LONG1: minimal two's-complement little-endian bytes
      const bytes: number[] = [];
      let v = BigInt(n);
      for (;;) {
        const byte = Number(v & 0xffn);
        bytes.push(byte);
        v >>= 8n;
        if ((v === 0n && !(byte & 0x80)) || (v === -1n && byte & 0x80)) break;
      }
      this.op(0x8a, bytes.length, ...bytes);
    }
  }

  intTuple(items: readonly number[]): void {
    if (items.length === 0) return this.op(0x29);
    if (items.length > 3) this.op(0x28);
    for (const v of items) this.int(v);
    this.op(items.length > 3 ? 0x74 : 0x84 + items.length);
    this.put();
  }

  /** `collections.OrderedDict()` via REDUCE, memoized, then its items in batches like CPython's _batch_setitems. */
  orderedDict<T>(items: readonly T[], saveItem: (item: T) => void): void {
    this.global('collections', 'OrderedDict');
    this.op(0x29, 0x52); // EMPTY_TUPLE REDUCE
    this.put();
    this.setItems(items, saveItem);
  }

  dict<T>(items: readonly T[], saveItem: (item: T) => void): void {
    this.op(0x7d); // EMPTY_DICT
    this.put();
    this.setItems(items, saveItem);
  }

  private setItems<T>(items: readonly T[], saveItem: (item: T) => void): void {
    for (let i = 0; i < items.length; i += BATCH) {
      const batch = items.slice(i, i + BATCH);
      if (batch.length > 1) this.op(0x28);
      batch.forEach(saveItem);
      this.op(batch.length > 1 ? 0x75 : 0x73); // SETITEMS / SETITEM
    }
  }

  tensor(t: PickledTensor, numel: number): void {
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.op(0x28); // MARK: (storage, storage_offset, size, stride, requires_grad, backward_hooks)
    this.op(0x28); // persistent id ('storage', torch.XStorage, key, 'cpu', numel)
    this.str('storage', true);
    this.global('torch', storageClassOf(t.dtype));
    this.str(t.storageKey);
    this.str('cpu', true);
    this.int(numel);
    this.op(0x74); // TUPLE
    this.put();
    this.op(0x51); // BINPERSID
    this.int(0);
    this.intTuple(t.shape);
    this.intTuple(t.stride);
    this.op(0x89); // NEWFALSE
    this.orderedDict([], () => undefined);
    this.op(0x74); // TUPLE
    this.put();
    this.op(0x52); // REDUCE
    this.put();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** data.pkl for an OrderedDict of tensors, with `_metadata` set by BUILD when given (as `state_dict()` does). */
export function pickleStateDict(tensors: readonly PickledTensor[], numels: readonly number[], metadata?: ModuleMetadata): Buffer {
  const p = new StateDictPickler();
  p.op(0x80, 2); // PROTO 2
  p.orderedDict(tensors.map((t, i) => ({ t, numel: numels[i] })), ({ t, numel }) => {
    p.str(t.name);
    p.tensor(t, numel);
  });
  if (metadata) {
    p.dict(['_metadata'], (key) => {
      p.str(key);
      p.orderedDict([...metadata], ([prefix, fields]) => {
        p.str(prefix);
        p.dict([...fields], ([field, value]) => {
          p.str(field, field === 'version');
          p.int(value);
        });
      });
    });
    p.op(0x62); // BUILD
  }
  p.op(0x2e); // STOP
  return p.bytes();
}
