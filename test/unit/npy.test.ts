import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy, readNpy, writeNpy } from '../../server/io/npy';
import { ModelFileError } from '../../server/io/modelFileError';

const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures');
const OFFICIAL = path.join(FIXTURES, 'pytorch');
const TRAIN = path.join(FIXTURES, 'pytorch-train');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'npy-test-'));

function assertNpyError(fn: () => unknown, file: string, problem: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ModelFileError, `expected ModelFileError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.problem, problem);
    return true;
  });
}

/** A .npy with an arbitrary header dict, padded the way numpy pads it. */
function npyWithHeader(dict: string, data: Uint8Array, major = 1): Buffer {
  const prefix = major === 1 ? 10 : 12;
  const pad = 64 - ((prefix + dict.length + 1) % 64);
  const text = Buffer.from(dict + ' '.repeat(pad) + '\n', 'latin1');
  const head = Buffer.alloc(prefix);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = major;
  if (major === 1) head.writeUInt16LE(text.length, 8);
  else head.writeUInt32LE(text.length, 8);
  return Buffer.concat([head, text, data]);
}

describe('fixtures', () => {
  for (const name of readdirSync(OFFICIAL).filter((f) => f.endsWith('.json'))) {
    const base = name.replace(/\.json$/, '');
    test(`${base}: input and output shapes match the json, values match its statistics`, () => {
      const info = JSON.parse(readFileSync(path.join(OFFICIAL, name), 'utf8')) as {
        input_shape: number[];
        output_shape: number[];
        output_stats: { min: number; max: number; mean: number; std: number };
      };
      const input = readNpy(path.join(OFFICIAL, `${base}.input.npy`));
      assert.deepEqual(input.shape, info.input_shape);
      assert.equal(input.data.length, info.input_shape.reduce((a, b) => a * b, 1));
      const out = readNpy(readFileSync(path.join(OFFICIAL, `${base}.output.npy`)));
      assert.deepEqual(out.shape, info.output_shape);
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (const v of out.data) {
        min = Math.min(min, v);
        max = Math.max(max, v);
        sum += v;
      }
      const mean = sum / out.data.length;
      // the json's std is torch's default, unbiased (n - 1)
      const std = Math.sqrt(out.data.reduce((s, v) => s + (v - mean) ** 2, 0) / (out.data.length - 1));
      assert.equal(min, Math.fround(info.output_stats.min));
      assert.equal(max, Math.fround(info.output_stats.max));
      assert.ok(Math.abs(mean - info.output_stats.mean) < 1e-6, `mean ${mean}`);
      assert.ok(Math.abs(std - info.output_stats.std) < 1e-5, `std ${std}`);
    });
  }

  test('training inputs are NCHW float32 in [-1, 1]', () => {
    for (const d of readdirSync(TRAIN)) {
      for (const f of readdirSync(path.join(TRAIN, d)).filter((n) => n.endsWith('.npy'))) {
        const a = readNpy(path.join(TRAIN, d, f));
        assert.equal(a.shape.length, 4, f);
        assert.ok(a.data.every((v) => v >= -1 && v <= 1), f);
      }
    }
  });

  test('encodeNpy reproduces the fixture files byte for byte (numpy.save layout)', () => {
    for (const f of readdirSync(OFFICIAL).filter((n) => n.endsWith('.npy'))) {
      const bytes = readFileSync(path.join(OFFICIAL, f));
      assert.ok(encodeNpy(readNpy(bytes)).equals(bytes), f);
    }
  });
});

describe('write and read back', () => {
  test('shapes of rank 0, 1 and 4, and format 2.0', () => {
    const cases = [
      { shape: [], data: new Float32Array([3.5]) },
      { shape: [5], data: new Float32Array([1, -2, 0.1, NaN, -Infinity]) },
      { shape: [1, 2, 2, 1], data: new Float32Array([1, 2, 3, 4]) },
      { shape: [0, 3], data: new Float32Array(0) },
    ];
    for (const a of cases) {
      const file = path.join(tmp, `a${a.shape.length}.npy`);
      writeNpy(file, a);
      const b = readNpy(file);
      assert.deepEqual(b.shape, a.shape);
      assert.deepEqual(Array.from(b.data), Array.from(a.data));
    }
    const header = encodeNpy({ shape: [5], data: new Float32Array(5) }).subarray(0, 80).toString('latin1');
    assert.match(header, /^\x93NUMPY\x01\x00.{2}\{'descr': '<f4', 'fortran_order': False, 'shape': \(5,\), \}/s);
    const v2 = npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Buffer.from(new Float32Array([7, 8]).buffer), 2);
    assert.deepEqual(Array.from(readNpy(v2).data), [7, 8]);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  });
});

describe('bad .npy files', () => {
  const f4 = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
  test('other dtypes, Fortran order, truncation, garbage', () => {
    const cases: [Buffer, RegExp][] = [
      [npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f4), /^unsupported dtype '<f8' \(only float32 little-endian '<f4' is supported\)$/],
      [npyWithHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", f4), /^unsupported dtype '>f4'/],
      [npyWithHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", f4), /^unsupported dtype '<i8'/],
      [npyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f4), /^Fortran-order arrays are not supported/],
      [npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", f4), /^truncated: shape \(5\) needs 20 data bytes, 16 present$/],
      [npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4), /^4 bytes beyond the data of shape \(3\)/],
      [npyWithHeader("{'descr': '<f4', 'shape': (4,), }", f4), /^corrupt \.npy header/],
      [Buffer.alloc(0), /^truncated: the file is empty/],
      [Buffer.from('\x93NUMPY\x01\x00\xff\x00{', 'latin1'), /^truncated: header needs 255 bytes/],
      [Buffer.from('PK\x03\x04 not numpy at all'), /^not a NumPy \.npy file/],
      [Buffer.from('\x93NUM', 'latin1'), /^truncated: only 4 bytes$/],
      [Buffer.from('\x93NUMPY\x07\x00\x10\x00{}', 'latin1'), /^unsupported \.npy format version 7\.0$/],
    ];
    for (const [buf, problem] of cases) assertNpyError(() => readNpy(buf), '<npy buffer>', problem);
  });

  test('errors from a path name the file', () => {
    const file = path.join(tmp, 'bad.npy');
    writeFileSync(file, 'not numpy');
    assertNpyError(() => readNpy(file), file, /^not a NumPy \.npy file/);
    assertNpyError(() => readNpy(path.join(tmp, 'missing.npy')), path.join(tmp, 'missing.npy'), /^cannot read \(ENOENT\)$/);
  });
});
