import type { StoredDtype } from './stateDict';

/** torch storage class name (as pickled: `torch.FloatStorage`) → element type. */
export const STORAGE_DTYPES: Readonly<Record<string, StoredDtype>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

export function storageClassOf(dtype: StoredDtype): string {
  for (const [name, d] of Object.entries(STORAGE_DTYPES)) if (d === dtype) return name;
  throw new Error(`no storage class for ${dtype}`);
}

export const ELEMENT_SIZE: Readonly<Record<StoredDtype, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** True when a tensor with these strides is laid out row-major without gaps (dims of size 1 may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  const want = contiguousStrides(shape);
  return shape.every((d, i) => d === 1 || stride[i] === want[i]);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function floatToHalf(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // subnormal half: shift the mantissa (with its implicit 1) and round to nearest even
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

function bfloat16ToFloat(b: number): number {
  u32Scratch[0] = b << 16;
  return f32Scratch[0];
}

function floatToBfloat16(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0 | ((x >>> 16) & 0x8000);
  return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

type ElementReader = (view: DataView, byteOffset: number, le: boolean) => number;

const READERS: Readonly<Record<StoredDtype, ElementReader>> = {
  float32: (v, o, le) => v.getFloat32(o, le),
  float64: (v, o, le) => v.getFloat64(o, le),
  float16: (v, o, le) => halfToFloat(v.getUint16(o, le)),
  bfloat16: (v, o, le) => bfloat16ToFloat(v.getUint16(o, le)),
  int64: (v, o, le) => Number(v.getBigInt64(o, le)),
  int32: (v, o, le) => v.getInt32(o, le),
  int16: (v, o, le) => v.getInt16(o, le),
  int8: (v, o) => v.getInt8(o),
  uint8: (v, o) => v.getUint8(o),
  bool: (v, o) => (v.getUint8(o) ? 1 : 0),
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts a strided view of a storage to a contiguous row-major Float32Array. Contiguous float32 in host byte order
 * is returned as a view into `bytes` when `allowView` and the address is 4-byte aligned (torch aligns to 64), else
 * copied once. The caller has checked that every addressed element lies inside `bytes`.
 */
export function decodeTensor(
  bytes: Uint8Array,
  dtype: StoredDtype,
  littleEndian: boolean,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
  allowView = false,
): Float32Array {
  const n = numelOf(shape);
  if (n === 0) return new Float32Array(0);
  const size = ELEMENT_SIZE[dtype];
  if (dtype === 'float32' && littleEndian === HOST_LITTLE_ENDIAN && isContiguous(shape, stride)) {
    const start = bytes.byteOffset + offset * 4;
    if (allowView && start % 4 === 0) return new Float32Array(bytes.buffer, start, n);
    const copy = new Float32Array(n);
    new Uint8Array(copy.buffer).set(bytes.subarray(offset * 4, (offset + n) * 4));
    return copy;
  }
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = READERS[dtype];
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    out[i] = read(view, src * size, littleEndian);
    // advance the row-major multi-index, keeping `src` = offset + Σ index·stride
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) {
        src += stride[d];
        break;
      }
      src -= (shape[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}

/** Little-endian bytes of `data` stored as `dtype`; integer types truncate toward zero like a torch cast. */
export function encodeTensor(data: Float32Array, dtype: StoredDtype): Uint8Array {
  if (!HOST_LITTLE_ENDIAN) throw new Error('writing checkpoints on a big-endian host is not supported');
  const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case 'float32':
      return asBytes(data);
    case 'float64':
      return asBytes(Float64Array.from(data));
    case 'float16':
      return asBytes(Uint16Array.from(data, floatToHalf));
    case 'bfloat16':
      return asBytes(Uint16Array.from(data, floatToBfloat16));
    case 'int64':
      return asBytes(BigInt64Array.from(data, (v) => BigInt(Number.isFinite(v) ? Math.trunc(v) : 0)));
    case 'int32':
      return asBytes(Int32Array.from(data, Math.trunc));
    case 'int16':
      return asBytes(Int16Array.from(data, Math.trunc));
    case 'int8':
      return asBytes(Int8Array.from(data, Math.trunc));
    case 'uint8':
      return asBytes(Uint8Array.from(data, Math.trunc));
    case 'bool':
      return Uint8Array.from(data, (v) => (v !== 0 ? 1 : 0));
  }
}
