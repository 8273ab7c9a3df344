import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { deflateRawSync, crc32 } from 'node:zlib';
import * as os from 'node:os';
import * as path from 'node:path';
import { parsePth, readPth, stateDictMetadata, writePth } from '../../server/io/pth';
import { ModelFileError } from '../../server/io/modelFileError';
import { unpickle } from '../../server/io/pickle';
import { pickleStateDict } from '../../server/io/pickleWriter';
import { ZipReader } from '../../server/io/zip';
import type { ModuleMetadata, StateDict, StoredDtype } from '../../server/io/stateDict';

const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures');
const OFFICIAL = path.join(FIXTURES, 'pytorch');
const TRAIN = path.join(FIXTURES, 'pytorch-train');
const officialPth = readdirSync(OFFICIAL).filter((f) => f.endsWith('.pth')).map((f) => path.join(OFFICIAL, f));
const trainPth = readdirSync(TRAIN).flatMap((d) =>
  readdirSync(path.join(TRAIN, d)).filter((f) => f.endsWith('.pth')).map((f) => path.join(TRAIN, d, f)),
);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pth-test-'));

const RUNNING_STAT = /\.(running_mean|running_var|num_batches_tracked)$/;

/** Asserts `fn` throws a ModelFileError for `file` whose problem matches `problem`. */
function assertModelError(fn: () => unknown, file: string, problem: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ModelFileError, `expected ModelFileError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.problem, problem);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    assert.equal(e.message, `${file}: ${e.problem}`);
    return true;
  });
}

async function assertModelErrorAsync(p: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ModelFileError, `expected ModelFileError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.problem, problem);
    return true;
  });
}

// ---- a tiny pickle assembler, independent of server/io/pickleWriter, to hand-build files ----

type Bytes = number[] | Uint8Array;
const cat = (...parts: Bytes[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));
const op = {
  proto: [0x80, 2],
  stop: [0x2e],
  mark: [0x28],
  tuple: [0x74],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  setitem: [0x73],
  setitems: [0x75],
  appends: [0x65],
  reduce: [0x52],
  binpersid: [0x51],
  none: [0x4e],
  newfalse: [0x89],
  newtrue: [0x88],
  build: [0x62],
  newobj: [0x81],
};
function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const h = Buffer.alloc(5);
  h[0] = 0x58;
  h.writeUInt32LE(b.length, 1);
  return cat(h, b);
}
function int(n: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = 0x4a;
  b.writeInt32LE(n, 1);
  return b;
}
const global = (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, 'utf8');
const intTuple = (xs: number[]) => cat(op.mark, ...xs.map(int), op.tuple);

interface TensorSpec {
  name: string;
  cls: string;
  key: string;
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

/** The opcodes CPython emits for a tensor inside torch.save; `legacy` adds the 6th persistent-id field (view metadata). */
function tensorOps(t: TensorSpec, legacy: boolean): Buffer {
  return cat(
    global('torch._utils', '_rebuild_tensor_v2'),
    op.mark,
    op.mark, str('storage'), global('torch', t.cls), str(t.key), str('cpu'), int(t.numel), legacy ? op.none : [], op.tuple, op.binpersid,
    int(t.offset), intTuple(t.shape), intTuple(t.stride), op.newfalse,
    global('collections', 'OrderedDict'), op.emptyTuple, op.reduce,
    op.tuple,
    op.reduce,
  );
}

/** OrderedDict of tensors, without PROTO/STOP so it can be nested. */
function stateDictOps(tensors: TensorSpec[], legacy = false): Buffer {
  return cat(
    global('collections', 'OrderedDict'), op.emptyTuple, op.reduce,
    op.mark, ...tensors.flatMap((t) => [str(t.name), tensorOps(t, legacy)]), op.setitems,
  );
}

const pickled = (...body: Bytes[]) => cat(op.proto, ...body, op.stop);

// ---- a plain zip writer for hand-built archives (classic zip, as Python's zipfile writes it) ----

function buildZip(entries: { name: string; data: Uint8Array; deflate?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = e.deflate ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data) >>> 0;
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(e.deflate ? 8 : 0, 8);
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(body.length, 18);
    h.writeUInt32LE(e.data.length, 22);
    h.writeUInt16LE(name.length, 26);
    locals.push(h, name, body);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(e.deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    centrals.push(c, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

const f32 = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);
const i64 = (xs: number[]) => Buffer.from(new BigInt64Array(xs.map(BigInt)).buffer);

/** A torch-layout zip: `archive/data.pkl`, `archive/data/<key>`…, with optional byteorder. */
function torchZip(dataPkl: Buffer, storages: Record<string, Buffer>, opts: { byteorder?: string; deflate?: boolean } = {}): Buffer {
  return buildZip([
    { name: 'archive/data.pkl', data: dataPkl, deflate: opts.deflate },
    ...(opts.byteorder ? [{ name: 'archive/byteorder', data: Buffer.from(opts.byteorder) }] : []),
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data, deflate: opts.deflate })),
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

const W: TensorSpec = { name: 'conv.weight', cls: 'FloatStorage', key: '0', numel: 24, offset: 0, shape: [2, 3, 2, 2], stride: [12, 4, 2, 1] };
const B: TensorSpec = { name: 'conv.bias', cls: 'FloatStorage', key: '1', numel: 2, offset: 0, shape: [2], stride: [1] };
const N: TensorSpec = { name: 'bn.num_batches_tracked', cls: 'LongStorage', key: '2', numel: 1, offset: 0, shape: [], stride: [] };
const wData = Array.from({ length: 24 }, (_, i) => i * 0.25 - 3);
const smallStorages = () => ({ '0': f32(wData), '1': f32([0.5, -1.5]), '2': i64([7]) });

// ---- tests ----

describe('official checkpoints (../shared/fixtures/pytorch)', () => {
  for (const file of officialPth) {
    test(path.basename(file), async () => {
      const info = JSON.parse(readFileSync(file.replace(/\.pth$/, '.json'), 'utf8')) as {
        keys: number;
        params: number;
        first_keys: Record<string, number[]>;
        pth_sha256: string;
      };
      assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), info.pth_sha256, 'fixture is the one its json describes');
      const sd = await readPth(file);
      assert.equal(sd.size, info.keys);
      let params = 0;
      for (const [k, t] of sd) {
        if (!RUNNING_STAT.test(k)) params += t.data.length;
        assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1), `${k} data length matches shape`);
        assert.ok(t.data.every(Number.isFinite), `${k} finite`);
        assert.equal(t.dtype, k.endsWith('num_batches_tracked') ? 'int64' : 'float32', `${k} dtype`);
      }
      assert.equal(params, info.params);
      const firstKeys = Object.keys(info.first_keys);
      assert.deepEqual([...sd.keys()].slice(0, firstKeys.length), firstKeys, 'file order kept');
      for (const k of firstKeys) assert.deepEqual(sd.get(k)!.shape, info.first_keys[k], k);
      // official init is normal(0, 0.02): weights are small and not all equal
      const w = sd.get(firstKeys[0])!.data;
      const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
      assert.ok(std > 0.005 && std < 0.2, `std of ${firstKeys[0]} is ${std}`);
    });
  }

  test('int64 num_batches_tracked reads as a float32 scalar', async () => {
    const sd = await readPth(path.join(OFFICIAL, 'unet_128_ngf16_batch_eval.pth'));
    const counters = [...sd].filter(([k]) => k.endsWith('num_batches_tracked'));
    assert.ok(counters.length > 0);
    for (const [k, t] of counters) {
      assert.deepEqual(t.shape, [], k);
      assert.equal(t.dtype, 'int64');
      assert.ok(Number.isInteger(t.data[0]) && t.data[0] >= 0, `${k} = ${t.data[0]}`);
    }
    assert.ok(stateDictMetadata(sd)?.get('model.model.1.model.2')?.get('version') === 2, 'BatchNorm _metadata version 2 read');
  });
});

describe('writePth writes what torch.save writes', () => {
  for (const file of [...officialPth, ...trainPth]) {
    test(`read → write reproduces ${path.relative(FIXTURES, file)} byte for byte (except the random serialization id)`, async () => {
      const sd = await readPth(file);
      const out = path.join(tmp, 'rt', path.relative(FIXTURES, file));
      await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(out), { recursive: true }));
      await writePth(out, sd);
      const a = readFileSync(file);
      const b = readFileSync(out);
      assert.equal(b.length, a.length);
      const za = new ZipReader(a, file);
      const zb = new ZipReader(b, out);
      assert.deepEqual([...zb.entries.keys()], [...za.entries.keys()], 'same records in the same order');
      const idName = [...za.entries.keys()].find((n) => n.endsWith('/.data/serialization_id'))!;
      const idOffset = za.entries.get(idName)!.localHeaderOffset;
      assert.equal(zb.entries.get(idName)!.localHeaderOffset, idOffset);
      assert.ok(a.subarray(0, idOffset).equals(b.subarray(0, idOffset)), 'every byte before the serialization id record is identical');
      assert.match(zb.data(zb.entries.get(idName)!).toString(), /^\d{40}$/);
      const eocdA = a.subarray(a.length - 98);
      const eocdB = b.subarray(b.length - 98);
      assert.ok(eocdA.equals(eocdB), 'zip64 end record, locator and end record identical');
      const again = await readPth(out);
      assert.deepEqual([...again.keys()], [...sd.keys()]);
      for (const [k, t] of sd) assert.deepEqual(again.get(k), t, k);
    });
  }

  test('data.pkl opcode sequence matches the official one', async () => {
    const file = path.join(OFFICIAL, 'resnet_6blocks_ngf32.pth');
    const za = new ZipReader(readFileSync(file), file);
    const official = za.data(za.entries.get('resnet_6blocks_ngf32/data.pkl')!);
    const sd = await readPth(file);
    const ours = pickleStateDict(
      [...sd].map(([name, t], i) => ({
        name,
        dtype: t.dtype,
        storageKey: String(i),
        shape: t.shape,
        stride: t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1)),
      })),
      [...sd.values()].map((t) => t.data.length),
      stateDictMetadata(sd),
    );
    assert.equal(ours.toString('latin1'), official.toString('latin1'));
  });

  test('round trip of every dtype, shapes with 0 and 1 dims, and more than 1000 keys (pickle batching)', async () => {
    const sd: StateDict = new Map();
    const cases: [StoredDtype, number[]][] = [
      ['float32', [0.1, -2.5, 3e-8, 1e30]],
      ['float64', [0.1, -2.5]],
      ['float16', [0.5, -2, 65504, 2 ** -24]],
      ['bfloat16', [1, -0.5, 3.140625]],
      ['int64', [7, -3, 2 ** 40]],
      ['int32', [-5, 100000]],
      ['int16', [-300, 300]],
      ['int8', [-128, 127]],
      ['uint8', [0, 255]],
      ['bool', [1, 0, 1]],
    ];
    for (const [dtype, values] of cases) sd.set(`t.${dtype}`, { shape: [values.length], data: new Float32Array(values), dtype });
    sd.set('scalar', { shape: [], data: new Float32Array([42]), dtype: 'int64' });
    sd.set('empty', { shape: [0, 3], data: new Float32Array(0), dtype: 'float32' });
    for (let i = 0; i < 1001; i++) sd.set(`many.${i}.weight`, { shape: [1, 2], data: new Float32Array([i, -i]), dtype: 'float32' });
    const file = path.join(tmp, 'latest_net_G_A.pth');
    await writePth(file, sd);
    const back = await readPth(file);
    assert.deepEqual([...back.keys()], [...sd.keys()]);
    for (const [k, t] of sd) {
      const r = back.get(k)!;
      assert.equal(r.dtype, t.dtype, k);
      assert.deepEqual(r.shape, t.shape, k);
      assert.deepEqual(Array.from(r.data), Array.from(t.data), k);
    }
    const zip = new ZipReader(readFileSync(file), file);
    const names = [...zip.entries.keys()];
    assert.equal(names[0], 'latest_net_G_A/data.pkl', 'archive folder named after the file, as PyTorchStreamWriter does');
    assert.deepEqual(names.slice(1, 4), ['latest_net_G_A/.format_version', 'latest_net_G_A/.storage_alignment', 'latest_net_G_A/byteorder']);
    assert.equal(zip.data(zip.entries.get('latest_net_G_A/byteorder')!).toString(), 'little');
    assert.equal(zip.data(zip.entries.get('latest_net_G_A/version')!).toString(), '3\n');
    for (const e of zip.entries.values()) {
      const h = e.localHeaderOffset;
      const buf = readFileSync(file);
      assert.equal((h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28)) % 64, 0, `${e.name} data 64-byte aligned`);
    }
    assert.equal(stateDictMetadata(back), undefined, 'no _metadata written when none was given');
    assert.deepEqual(readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');
  });

  test('dtypes option converts on write (float16 rounds to nearest even), metadata option is written', async () => {
    const sd: StateDict = new Map([['w', { shape: [4], data: new Float32Array([0.1, 65520, 1e-7, -1 / 3]), dtype: 'float32' }]]);
    const metadata: ModuleMetadata = new Map([['', new Map([['version', 1]])], ['bn', new Map([['version', 2]])]]);
    const file = path.join(tmp, 'half.pth');
    await writePth(file, sd, { dtypes: { w: 'float16' }, metadata });
    const back = await readPth(file);
    const w = back.get('w')!;
    assert.equal(w.dtype, 'float16');
    assert.deepEqual(Array.from(w.data), [0.0999755859375, Infinity, 1.1920928955078125e-7, -0.333251953125]);
    assert.deepEqual(stateDictMetadata(back), metadata);
  });

  test('writePth replaces an existing file atomically', async () => {
    const file = path.join(tmp, 'replace.pth');
    writeFileSync(file, 'old contents');
    await writePth(file, new Map([['x', { shape: [1], data: new Float32Array([1]), dtype: 'float32' }]]));
    assert.deepEqual(Array.from((await readPth(file)).get('x')!.data), [1]);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
  });
});

describe('checkpoints written by real PyTorch (test/fixtures/torch-made, see make.py there)', () => {
  const DIR = path.resolve(__dirname, '../fixtures/torch-made');
  type Expected = Record<string, { shape: number[]; dtype: StoredDtype; data: number[] }>;
  const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<'state_dict' | 'half' | 'bf16' | 'views', Expected>;
  const cases: [string, Expected][] = [
    ['legacy.pth', expected.state_dict],
    ['legacy_proto4.pth', expected.state_dict],
    ['proto4.pth', expected.state_dict],
    ['wrapped.pth', expected.state_dict],
    ['half.pth', expected.half],
    ['bf16.pth', expected.bf16],
    ['views.pth', expected.views],
    ['views_legacy.pth', expected.views],
  ];
  for (const [name, want] of cases) {
    test(name, async () => {
      const sd = await readPth(path.join(DIR, name));
      assert.deepEqual([...sd.keys()], Object.keys(want));
      for (const [k, w] of Object.entries(want)) {
        const t = sd.get(k)!;
        assert.deepEqual(t.shape, w.shape, k);
        assert.equal(t.dtype, w.dtype, k);
        assert.deepEqual(Array.from(t.data), w.data.map(Math.fround), k);
      }
    });
  }

  test('torch.save(model) is refused with advice', async () => {
    const file = path.join(DIR, 'module.pth');
    await assertModelErrorAsync(readPth(file), file, /^a pickled model object \(torch\.nn\.modules\.container\.Sequential\), not a state_dict: save net\.state_dict\(\) instead$/);
  });
});

describe('hand-built checkpoints', () => {
  test('zip checkpoint with a strided view at an offset, an int64 scalar, and deflated entries', () => {
    const T: TensorSpec = { name: 'conv.weight_t', cls: 'FloatStorage', key: '0', numel: 24, offset: 1, shape: [3, 2], stride: [1, 3] };
    for (const deflate of [false, true]) {
      const buf = torchZip(pickled(stateDictOps([W, B, N, T])), smallStorages(), { deflate });
      const sd = parsePth(buf, 'hand.pth');
      assert.deepEqual([...sd.keys()], ['conv.weight', 'conv.bias', 'bn.num_batches_tracked', 'conv.weight_t']);
      assert.deepEqual(Array.from(sd.get('conv.weight')!.data), wData);
      assert.deepEqual(Array.from(sd.get('conv.bias')!.data), [0.5, -1.5]);
      assert.deepEqual(sd.get('bn.num_batches_tracked'), { shape: [], data: new Float32Array([7]), dtype: 'int64' });
      // element [i][j] = storage[1 + i + 3j]
      assert.deepEqual(Array.from(sd.get('conv.weight_t')!.data), [1, 4, 2, 5, 3, 6].map((i) => wData[i]));
      sd.get('conv.weight')!.data[1] = 99;
      assert.equal(sd.get('conv.weight_t')!.data[0], wData[1], 'tensors sharing a storage do not alias each other');
    }
  });

  test('byteorder "big" storages are swapped', () => {
    const be = (xs: number[]) => {
      const b = Buffer.alloc(xs.length * 4);
      xs.forEach((x, i) => b.writeFloatBE(x, i * 4));
      return b;
    };
    const n = Buffer.alloc(8);
    n.writeBigInt64BE(7n);
    const sd = parsePth(torchZip(pickled(stateDictOps([W, B, N])), { '0': be(wData), '1': be([0.5, -1.5]), '2': n }, { byteorder: 'big' }), 'be.pth');
    assert.deepEqual(Array.from(sd.get('conv.weight')!.data), wData);
    assert.equal(sd.get('bn.num_batches_tracked')!.data[0], 7);
  });

  test('a checkpoint dict wrapping one state dict is accepted; two state dicts are refused', () => {
    const wrapped = pickled(op.emptyDict, op.mark, str('epoch'), int(3), str('state_dict'), stateDictOps([W, B, N]), str('lr'), int(1), op.setitems);
    const sd = parsePth(torchZip(wrapped, smallStorages()), 'wrapped.pth');
    assert.deepEqual([...sd.keys()], ['conv.weight', 'conv.bias', 'bn.num_batches_tracked']);
    const two = pickled(op.emptyDict, op.mark, str('netG'), stateDictOps([W, B]), str('netD'), stateDictOps([N]), op.setitems);
    assertModelError(() => parsePth(torchZip(two, smallStorages()), 'two.pth'), 'two.pth', /^not a state_dict \(top-level object is a dict of several state dicts: 'netG', 'netD'/);
  });

  // torch/serialization.py _legacy_save: pickle.dump(MAGIC_NUMBER), pickle.dump(PROTOCOL_VERSION), pickle.dump(sys_info),
  // the object pickled with persistent ids ('storage', type, key, location, numel, view_metadata), pickle.dump(sorted keys),
  // then each storage as an int64 element count followed by its raw elements, both little-endian whatever the host
  // (THPStorage_writeFileRaw converts; sys_info's little_endian is only informational).
  function legacyFile(littleEndian: boolean, tensors: TensorSpec[], storages: Record<string, number[]>, elementBytes: Record<string, (x: number) => Buffer>): Buffer {
    const magic = cat(op.proto, [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], op.stop);
    const sysInfo = pickled(
      op.emptyDict, op.mark,
      str('protocol_version'), int(1001),
      str('little_endian'), littleEndian ? op.newtrue : op.newfalse,
      str('type_sizes'), op.emptyDict, op.mark, str('short'), int(2), str('int'), int(4), str('long'), int(8), op.setitems,
      op.setitems,
    );
    const keys = Object.keys(storages).sort();
    const data = keys.map((k) => {
      const count = Buffer.alloc(8);
      count.writeBigInt64LE(BigInt(storages[k].length));
      return cat(count, ...storages[k].map(elementBytes[k]));
    });
    return cat(magic, pickled(int(1001)), sysInfo, pickled(stateDictOps(tensors, true)), pickled(op.emptyList, op.mark, ...keys.map(str), op.appends), ...data);
  }
  const legacySpecs = (): TensorSpec[] => [
    { ...W, key: '140234' },
    { ...B, key: '140567' },
    { ...N, key: '140890' },
    { name: 'conv.weight_t', cls: 'FloatStorage', key: '140234', numel: 24, offset: 1, shape: [3, 2], stride: [1, 3] },
  ];
  const legacyStorages = { '140234': wData, '140567': [0.5, -1.5], '140890': [7] };
  const fl = (x: number) => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(x);
    return b;
  };
  const lg = (x: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(x));
    return b;
  };
  const writers = () => ({ '140234': fl, '140567': fl, '140890': lg });

  for (const le of [true, false]) {
    test(`legacy (pre-1.6) torch.save stream, sys_info little_endian=${le ? 'True' : 'False'} (storages are little-endian either way)`, async () => {
      const file = path.join(tmp, `legacy-${le ? 'le' : 'be'}.pth`);
      writeFileSync(file, legacyFile(le, legacySpecs(), legacyStorages, writers()));
      const sd = await readPth(file);
      assert.deepEqual([...sd.keys()], ['conv.weight', 'conv.bias', 'bn.num_batches_tracked', 'conv.weight_t']);
      assert.deepEqual(Array.from(sd.get('conv.weight')!.data), wData);
      assert.deepEqual(Array.from(sd.get('conv.bias')!.data), [0.5, -1.5]);
      assert.deepEqual(sd.get('bn.num_batches_tracked'), { shape: [], data: new Float32Array([7]), dtype: 'int64' });
      assert.deepEqual(Array.from(sd.get('conv.weight_t')!.data), [1, 4, 2, 5, 3, 6].map((i) => wData[i]));
      // and it converts to the zip format
      const out = path.join(tmp, `legacy-${le ? 'le' : 'be'}-converted.pth`);
      await writePth(out, sd);
      assert.deepEqual(await readPth(out), sd);
    });
  }

  test('every truncation of a legacy file is reported as truncated', () => {
    const full = legacyFile(true, legacySpecs(), legacyStorages, writers());
    for (let n = 1; n < full.length; n++) {
      assertModelError(() => parsePth(full.subarray(0, n), 'cut.pth'), 'cut.pth', /^truncated: /);
    }
  });
});

describe('bad files: one clear ModelFileError each, nothing executed', () => {
  const fixture = path.join(OFFICIAL, 'patchgan_basic_ndf16_in6_batch_eval.pth');

  test('zero-byte file', async () => {
    const file = path.join(tmp, 'empty.pth');
    writeFileSync(file, '');
    await assertModelErrorAsync(readPth(file), file, /^truncated: the file is empty \(0 bytes\)$/);
  });

  test('missing file', async () => {
    const file = path.join(tmp, 'does-not-exist.pth');
    await assertModelErrorAsync(readPth(file), file, /^cannot read \(ENOENT\)$/);
  });

  test('garbage and other formats', async () => {
    const file = path.join(tmp, 'garbage.pth');
    let seed = 12345;
    writeFileSync(file, Buffer.from(Array.from({ length: 5000 }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff)));
    await assertModelErrorAsync(readPth(file), file, /^not a PyTorch checkpoint \(no zip or legacy magic\)$/);
    assertModelError(() => parsePth(Buffer.from('{"weights": [1, 2, 3]}'), 'w.pth'), 'w.pth', /^not a PyTorch checkpoint/);
    const npyBytes = readFileSync(path.join(OFFICIAL, 'resnet_6blocks_ngf32.input.npy'));
    assertModelError(() => parsePth(npyBytes, 'x.pth'), 'x.pth', /^not a PyTorch checkpoint \(no zip or legacy magic\)$/);
  });

  test('truncated copies of an official checkpoint', async () => {
    const full = readFileSync(fixture);
    const cuts = [1, 2, 3, 4, 10, 29, 64, 100, 1000, 6000, 100000, full.length >> 1, full.length - 99, full.length - 98, full.length - 22, full.length - 1];
    for (const n of cuts) {
      const file = path.join(tmp, `cut-${n}.pth`);
      writeFileSync(file, full.subarray(0, n));
      await assertModelErrorAsync(readPth(file), file, /^truncated: /);
    }
  });

  test('a storage byte flipped is caught by the CRC', () => {
    const bad = Buffer.from(readFileSync(fixture));
    const z = new ZipReader(bad, 'x');
    const e = z.entries.get('patchgan_basic_ndf16_in6_batch_eval/data/0')!;
    const h = e.localHeaderOffset;
    bad[h + 30 + bad.readUInt16LE(h + 26) + bad.readUInt16LE(h + 28) + 10] ^= 0x40;
    assertModelError(() => parsePth(bad, 'flip.pth'), 'flip.pth', /^corrupt zip \(CRC mismatch in patchgan_basic_ndf16_in6_batch_eval\/data\/0\)$/);
  });

  test('zip without data.pkl; TorchScript archive', () => {
    const noPkl = buildZip([{ name: 'archive/version', data: Buffer.from('3\n') }, { name: 'archive/data/0', data: f32([1]) }]);
    assertModelError(() => parsePth(noPkl, 'nopkl.pth'), 'nopkl.pth', /^no data\.pkl in the zip/);
    const script = buildZip([
      { name: 'm/data.pkl', data: pickled(global('__torch__.models.networks', 'ResnetGenerator'), op.emptyTuple, op.newobj) },
      { name: 'm/constants.pkl', data: pickled(op.emptyTuple) },
      { name: 'm/version', data: Buffer.from('3\n') },
    ]);
    assertModelError(() => parsePth(script, 'script.pt'), 'script.pt', /^a TorchScript archive/);
  });

  test('storage entry missing or too short; tensor reaching past its storage', () => {
    const sdPkl = pickled(stateDictOps([W, B, N]));
    const missing = smallStorages() as Record<string, Buffer>;
    delete missing['1'];
    assertModelError(() => parsePth(torchZip(sdPkl, missing), 'm.pth'), 'm.pth', /^storage data\/1 missing from the zip \(tensor 'conv\.bias'\)$/);
    const short = { ...smallStorages(), '0': f32(wData.slice(0, 20)) };
    assertModelError(() => parsePth(torchZip(sdPkl, short), 's.pth'), 's.pth', /^storage data\/0 too short: 80 bytes, tensor 'conv\.weight' needs 96$/);
    const past = pickled(stateDictOps([{ ...W, offset: 1 }]));
    assertModelError(() => parsePth(torchZip(past, smallStorages()), 'p.pth'), 'p.pth', /^tensor 'conv\.weight' reaches element 25 of storage 0, which holds 24$/);
  });

  test('unsupported dtype', () => {
    const complex = pickled(stateDictOps([{ ...B, cls: 'ComplexFloatStorage' }]));
    assertModelError(() => parsePth(torchZip(complex, smallStorages()), 'c.pth'), 'c.pth', /^unsupported tensor dtype \(torch\.ComplexFloatStorage\)$/);
  });

  test('malicious pickles are refused before anything could run', () => {
    const marker = path.join(tmp, 'pwned');
    const payloads: [string, Buffer, RegExp][] = [
      ['GLOBAL os.system + REDUCE', pickled(global('os', 'system'), str(`touch ${marker}`), [0x85], op.reduce), /^disallowed pickle opcode GLOBAL os\.system \(not a plain state_dict\)$/],
      ['GLOBAL posix.system', pickled(global('posix', 'system'), str(`touch ${marker}`), [0x85], op.reduce), /^disallowed pickle opcode GLOBAL posix\.system /],
      [
        'STACK_GLOBAL builtins.eval',
        cat([0x80, 4], [0x8c, 8], Buffer.from('builtins'), [0x8c, 4], Buffer.from('eval'), [0x93], str(`__import__('os').system('touch ${marker}')`), [0x85], op.reduce, op.stop),
        /^disallowed pickle opcode GLOBAL builtins\.eval \(not a plain state_dict\)$/,
      ],
      ['INST', cat(op.proto, op.mark, str(`touch ${marker}`), Buffer.from('ios\nsystem\n'), op.stop), /^disallowed pickle opcode INST os\.system /],
      ['REDUCE of a non-callable', pickled(str('x'), op.emptyTuple, op.reduce), /^disallowed pickle opcode REDUCE on a str /],
      ['EXT1', pickled([0x82, 1]), /^disallowed pickle opcode EXT1 /],
      ['a state dict with a hidden call inside', pickled(stateDictOps([W]), str('x'), global('subprocess', 'Popen'), op.setitem), /^disallowed pickle opcode GLOBAL subprocess\.Popen /],
    ];
    for (const [what, pkl, problem] of payloads) {
      assertModelError(() => parsePth(torchZip(pkl, smallStorages()), 'evil.pth'), 'evil.pth', problem);
      assert.ok(!existsSync(marker), `${what}: nothing executed`);
    }
    const legacy = cat(op.proto, [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], op.stop, pickled(int(1001)), pickled(op.emptyDict), pickled(global('os', 'system'), str(`touch ${marker}`), [0x85], op.reduce));
    assertModelError(() => parsePth(legacy, 'evil-legacy.pth'), 'evil-legacy.pth', /^disallowed pickle opcode GLOBAL os\.system /);
    assert.ok(!existsSync(marker));
  });

  test('a pickled nn.Module is refused with advice', () => {
    const model = pickled(global('models.networks', 'ResnetGenerator'), op.emptyTuple, op.newobj, op.emptyDict, op.build);
    assertModelError(
      () => parsePth(torchZip(model, {}), 'model.pth'),
      'model.pth',
      /^a pickled model object \(models\.networks\.ResnetGenerator\), not a state_dict: save net\.state_dict\(\) instead$/,
    );
    const legacyModule = pickled(op.mark, str('module'), global('torch.nn.modules.container', 'Sequential'), op.none, op.none, op.tuple, op.binpersid);
    assertModelError(() => parsePth(torchZip(legacyModule, {}), 'seq.pth'), 'seq.pth', /^a pickled model object \(torch\.nn\.modules\.container\.Sequential\)/);
  });

  test('not a state dict', () => {
    const cases: [Buffer, RegExp][] = [
      [pickled(op.emptyList), /^not a state_dict \(top-level object is a list\)$/],
      [pickled(tensorOps(W, false)), /^not a state_dict \(top-level object is a tensor\)$/],
      [pickled(op.emptyDict), /^not a state_dict \(top-level object is an empty dict\)$/],
      [pickled(op.emptyDict, op.mark, str('epoch'), int(5), str('lr'), int(1), op.setitems), /^not a state_dict \(top-level object is a dict of 'epoch', 'lr', none of them a dict of tensors\)$/],
      [pickled(stateDictOps([W]), str('extra'), op.none, op.setitem), /^not a plain state_dict \(entry 'extra' holds a None, not a tensor\)$/],
    ];
    for (const [pkl, problem] of cases) assertModelError(() => parsePth(torchZip(pkl, smallStorages()), 'n.pth'), 'n.pth', problem);
  });

  test('damaged files only ever give ModelFileError (every truncation of a data.pkl, seeded byte mutations)', () => {
    const za = new ZipReader(readFileSync(fixture), fixture);
    const pkl = za.data(za.entries.get('patchgan_basic_ndf16_in6_batch_eval/data.pkl')!);
    const onlyModelErrors = (bytes: Uint8Array) => {
      try {
        unpickle(bytes, 0, 'f');
      } catch (e) {
        if (!(e instanceof ModelFileError)) throw e;
      }
    };
    for (let n = 0; n < pkl.length; n++) assert.throws(() => unpickle(pkl.subarray(0, n), 0, 'f'), ModelFileError);
    // whole files too (zip headers, central directory, legacy storage section), and the zip with the real torch layout
    for (const name of ['proto4.pth', 'legacy.pth', 'views_legacy.pth']) {
      const orig = readFileSync(path.resolve(__dirname, '../fixtures/torch-made', name));
      let s = 11;
      const r = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
      for (let i = 0; i < 2000; i++) {
        const m = Buffer.from(orig);
        for (let j = 0; j < 2; j++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
        try {
          parsePth(m, 'f');
        } catch (e) {
          if (!(e instanceof ModelFileError)) throw e;
        }
      }
    }
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    for (let i = 0; i < 2000; i++) {
      const m = Buffer.from(pkl);
      for (let j = 0; j < 3; j++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      onlyModelErrors(m);
    }
  });
});
