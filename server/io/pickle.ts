import { ModelFileError } from './modelFileError';
import { STORAGE_DTYPES } from './dtypes';
import type { StoredDtype } from './stateDict';

// A pickle *reader* for state dicts only: it builds plain values and never imports or calls anything.
// Globals are names checked against an allow-list; REDUCE applies only the few torch rebuild functions, emulated here.

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** dict or collections.OrderedDict; `state` keeps what BUILD set (torch puts `_metadata` there). */
export class PyDict {
  readonly map = new Map<PyValue, PyValue>();
  state: PyValue | undefined;
}

export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** A storage reference from a persistent id: ('storage', torch.XStorage, key, location, numel[, view]). */
export class PyStorage {
  constructor(
    readonly dtype: StoredDtype,
    readonly key: string,
    readonly numel: number,
    readonly view: { key: string; offset: number; numel: number } | null,
  ) {}
}

export class PyTensor {
  constructor(
    readonly storage: PyStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PyGlobal
  | PyStorage
  | PyTensor;

export interface UnpickleResult {
  value: PyValue;
  /** Byte just after STOP (the legacy format puts several pickles back to back). */
  end: number;
  /** Every storage the pickle referenced, by key. */
  storages: Map<string, PyStorage>;
}

const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
]);

// Top-level modules whose classes are never network modules; a GLOBAL into them is reported as disallowed, not as a model.
const SYSTEM_MODULES = new Set([
  'builtins', '__builtin__', 'os', 'posix', 'nt', 'sys', 'subprocess', 'shutil', 'socket', 'pty', 'importlib',
  'runpy', 'pickle', 'codecs', 'types', 'functools', 'operator', 'webbrowser', 'io', 'ctypes', 'multiprocessing',
  'asyncio', 'code', 'commands', 'platform', 'threading', 'tempfile', 'pathlib', 'urllib', 'http', 'numpy',
]);

const OPCODE_NAMES: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
  0x50: 'PERSID', 0x49: 'INT', 0x4c: 'LONG', 0x53: 'STRING', 0x56: 'UNICODE', 0x46: 'FLOAT', 0x70: 'PUT',
  0x67: 'GET', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

export function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyTensor) return 'tensor';
  if (v instanceof PyStorage) return 'storage';
  return `${v.module}.${v.name}`;
}

/** Unpickles one pickle starting at `start`. Throws ModelFileError naming `file` on anything outside the safe subset. */
export function unpickle(buf: Uint8Array, start: number, file: string): UnpickleResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const storages = new Map<string, PyStorage>();
  const memo = new Map<number, PyValue>();
  const stack: PyValue[] = [];
  const marks: number[] = [];
  let pos = start;

  const fail = (problem: string): never => {
    throw new ModelFileError(file, problem);
  };
  const corrupt = (what: string): never => fail(`corrupt pickle: ${what} (at byte ${pos})`);
  const need = (n: number) => {
    if (pos + n > buf.length) fail(`truncated: pickle data ends early (needs ${n} more bytes at byte ${pos})`);
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(buf.length)) fail(`truncated: pickle data ends early (a length of ${v} at byte ${pos - 8})`);
    return Number(v);
  };
  const bytes = (n: number) => {
    need(n);
    pos += n;
    return buf.subarray(pos - n, pos);
  };
  const text = (n: number) => {
    const b = bytes(n);
    try {
      return decoder.decode(b);
    } catch {
      return corrupt('invalid UTF-8 string');
    }
  };
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: pickle data ends early (unterminated GLOBAL)');
    return text(end - pos + 1).slice(0, -1);
  };
  // values above the innermost MARK are the only ones an opcode may pop, as in CPython's unpickler
  const base = () => (marks.length ? marks[marks.length - 1] : 0);
  const pop = (): PyValue => {
    if (stack.length <= base()) return corrupt('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length <= base()) return corrupt('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) return corrupt('no MARK');
    return stack.splice(m);
  };
  const memoGet = (i: number): PyValue => {
    const v = memo.get(i);
    if (v === undefined) return corrupt(`memo entry ${i} missing`);
    return v;
  };
  const setItems = (target: PyValue, items: PyValue[]) => {
    if (!(target instanceof PyDict)) return corrupt(`SETITEM on a ${describe(target)}`);
    if (items.length % 2) return corrupt('odd number of dict items');
    for (let i = 0; i < items.length; i += 2) target.map.set(items[i], items[i + 1]);
  };
  const appendItems = (target: PyValue, items: PyValue[]) => {
    if (!Array.isArray(target)) return corrupt(`APPEND on a ${describe(target)}`);
    target.push(...items);
  };
  const global = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    if (CALLABLES.has(qualified)) return new PyGlobal(module, name);
    if (module === 'torch' && name.endsWith('Storage')) {
      if (name in STORAGE_DTYPES) return new PyGlobal(module, name);
      return fail(`unsupported tensor dtype (torch.${name})`);
    }
    const root = module.split('.')[0];
    const looksLikeModule = module.startsWith('torch.nn.modules') || (!SYSTEM_MODULES.has(root) && root !== 'torch' && /^[A-Z]\w*$/.test(name));
    if (looksLikeModule) return fail(`a pickled model object (${qualified}), not a state_dict: save net.state_dict() instead`);
    return fail(`disallowed pickle opcode GLOBAL ${qualified} (not a plain state_dict)`);
  };
  const int = (v: PyValue, what: string): number => {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    return corrupt(`${what} is a ${describe(v)}, expected an int`);
  };
  const ints = (v: PyValue, what: string): number[] => {
    if (!(v instanceof PyTuple)) return corrupt(`${what} is a ${describe(v)}, expected a tuple`);
    return v.items.map((x) => int(x, what));
  };
  const str = (v: PyValue, what: string): string => {
    if (typeof v === 'string') return v;
    if (v instanceof Uint8Array) return new TextDecoder('latin1').decode(v);
    return corrupt(`${what} is a ${describe(v)}, expected a str`);
  };
  const persistentLoad = (pid: PyValue): PyValue => {
    if (!(pid instanceof PyTuple) || pid.items.length === 0) return corrupt('persistent id is not a tuple');
    const kind = str(pid.items[0], 'persistent id type');
    if (kind === 'module') {
      const cls = pid.items[1];
      return fail(`a pickled model object (${cls instanceof PyGlobal ? `${cls.module}.${cls.name}` : 'nn.Module'}), not a state_dict: save net.state_dict() instead`);
    }
    if (kind !== 'storage' || pid.items.length < 5) return corrupt(`unknown persistent id '${kind}'`);
    const [, cls, key, , numel, viewMeta] = pid.items;
    if (!(cls instanceof PyGlobal) || !(cls.name in STORAGE_DTYPES)) return corrupt('storage type is not a torch storage class');
    let view: PyStorage['view'] = null;
    if (viewMeta instanceof PyTuple && viewMeta.items.length === 3) {
      view = { key: str(viewMeta.items[0], 'view key'), offset: int(viewMeta.items[1], 'view offset'), numel: int(viewMeta.items[2], 'view size') };
      if (view.offset < 0 || view.numel < 0) return corrupt('negative storage view');
    } else if (viewMeta !== undefined && viewMeta !== null) return corrupt('bad storage view metadata');
    const storage = new PyStorage(STORAGE_DTYPES[cls.name], str(key, 'storage key'), int(numel, 'storage size'), view);
    if (storage.numel < 0) return corrupt('negative storage size');
    storages.set(storage.key, storage);
    return storage;
  };
  const rebuildTensor = (args: PyValue[]): PyTensor => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof PyStorage)) return corrupt(`tensor storage is a ${describe(storage)}`);
    const shape = ints(size, 'tensor size');
    const strides = ints(stride, 'tensor stride');
    if (shape.length !== strides.length || shape.some((d) => d < 0) || strides.some((s) => s < 0)) return corrupt('bad tensor size/stride');
    const start = int(offset, 'storage offset');
    if (start < 0) return corrupt('negative storage offset');
    return new PyTensor(storage, start, shape, strides);
  };
  const call = (fn: PyValue, argsValue: PyValue): PyValue => {
    if (!(fn instanceof PyGlobal)) return fail(`disallowed pickle opcode REDUCE on a ${describe(fn)} (not a plain state_dict)`);
    if (!(argsValue instanceof PyTuple)) return corrupt('REDUCE arguments are not a tuple');
    const args = argsValue.items;
    switch (`${fn.module}.${fn.name}`) {
      case 'collections.OrderedDict': {
        const d = new PyDict();
        const items = args[0];
        if (Array.isArray(items)) {
          for (const pair of items) {
            const kv = pair instanceof PyTuple ? pair.items : pair;
            if (!Array.isArray(kv) || kv.length !== 2) return corrupt('OrderedDict item is not a pair');
            d.map.set(kv[0], kv[1]);
          }
        } else if (args.length > 0) return corrupt('OrderedDict arguments');
        return d;
      }
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_tensor':
        if (args.length < 4) return corrupt('too few tensor arguments');
        return rebuildTensor(args);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        if (!(args[0] instanceof PyTensor)) return corrupt('parameter data is not a tensor');
        return args[0];
      default:
        return fail(`disallowed pickle opcode REDUCE ${fn.module}.${fn.name} (not a plain state_dict)`);
    }
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) corrupt('unknown pickle protocol');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: pos, storages };
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: { // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str; torch.load decodes it as text)
        stack.push(text(u8()));
        break;
      case 0x54: { // BINSTRING
        const n = i32();
        if (n < 0) corrupt('negative string length');
        stack.push(text(n));
        break;
      }
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()));
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const n = op === 0x8a ? u8() : i32();
        if (n < 0) corrupt('negative LONG4 length');
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x63: { // GLOBAL
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') corrupt('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x62: { // BUILD
        const state = pop();
        const target = top();
        if (!(target instanceof PyDict)) fail(`disallowed pickle opcode BUILD on a ${describe(target)} (not a plain state_dict)`);
        (target as PyDict).state = state;
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default: {
        const name = OPCODE_NAMES[op];
        if (name === 'INST') fail(`disallowed pickle opcode INST ${line()}.${line()} (not a plain state_dict)`);
        if (name) fail(`disallowed pickle opcode ${name} (not a plain state_dict)`);
        corrupt(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }
}
