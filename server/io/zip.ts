import { inflateRawSync, crc32 } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';
import { ModelFileError } from './modelFileError';

// Zip as PyTorch reads and writes it (PyTorchStreamReader/Writer, miniz): entries STORED, data 64-byte aligned.

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const ALIGNMENT = 64;

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Reads the central directory of an in-memory zip; entry data are views into the buffer (no copy when STORED). */
export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();

  constructor(
    private readonly buf: Buffer,
    private readonly file: string,
  ) {
    const eocd = this.findEocd();
    let count = buf.readUInt16LE(eocd + 10);
    let cdSize = buf.readUInt32LE(eocd + 12);
    let cdOffset = buf.readUInt32LE(eocd + 16);
    const locator = eocd - 20;
    if (locator >= 0 && buf.readUInt32LE(locator) === SIG_ZIP64_LOCATOR) {
      const z64 = this.safeNumber(buf.readBigUInt64LE(locator + 8));
      if (z64 + 56 > buf.length || buf.readUInt32LE(z64) !== SIG_ZIP64_EOCD) this.fail('corrupt zip (bad zip64 end record)');
      count = this.safeNumber(buf.readBigUInt64LE(z64 + 32));
      cdSize = this.safeNumber(buf.readBigUInt64LE(z64 + 40));
      cdOffset = this.safeNumber(buf.readBigUInt64LE(z64 + 48));
    }
    if (cdOffset + cdSize > buf.length) this.fail('truncated: the zip central directory lies past the end of the file');
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > buf.length || buf.readUInt32LE(p) !== SIG_CENTRAL) this.fail('corrupt zip (bad central directory entry)');
      const nameLen = buf.readUInt16LE(p + 28);
      const extraLen = buf.readUInt16LE(p + 30);
      const commentLen = buf.readUInt16LE(p + 32);
      if (p + 46 + nameLen + extraLen > buf.length) this.fail('corrupt zip (central directory entry runs past the end)');
      const entry: ZipEntry = {
        name: buf.toString('utf8', p + 46, p + 46 + nameLen),
        method: buf.readUInt16LE(p + 10),
        crc32: buf.readUInt32LE(p + 16),
        compressedSize: buf.readUInt32LE(p + 20),
        size: buf.readUInt32LE(p + 24),
        localHeaderOffset: buf.readUInt32LE(p + 42),
      };
      this.applyZip64Extra(entry, p + 46 + nameLen, extraLen);
      this.entries.set(entry.name, entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** The entry's bytes: a view for STORED entries, inflated for DEFLATE; CRC-checked when the zip records one. */
  data(entry: ZipEntry): Buffer {
    const h = entry.localHeaderOffset;
    const buf = this.buf;
    if (h + 30 > buf.length || buf.readUInt32LE(h) !== SIG_LOCAL) this.fail(`corrupt zip (bad local header for ${entry.name})`);
    const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
    if (start + entry.compressedSize > buf.length) this.fail(`truncated: zip entry ${entry.name} runs past the end of the file`);
    const raw = buf.subarray(start, start + entry.compressedSize);
    let out: Buffer;
    if (entry.method === 0) out = raw;
    else if (entry.method === 8) {
      try {
        out = inflateRawSync(raw);
      } catch {
        this.fail(`corrupt zip (cannot inflate ${entry.name})`);
      }
    } else this.fail(`zip entry ${entry.name} uses unsupported compression method ${entry.method}`);
    if (out.length !== entry.size) this.fail(`corrupt zip (${entry.name} is ${out.length} bytes, the directory says ${entry.size})`);
    if (entry.crc32 !== 0 && crc32(out) >>> 0 !== entry.crc32) this.fail(`corrupt zip (CRC mismatch in ${entry.name})`);
    return out;
  }

  private findEocd(): number {
    const buf = this.buf;
    const stop = Math.max(0, buf.length - 22 - 0xffff);
    for (let p = buf.length - 22; p >= stop; p--) {
      if (buf.readUInt32LE(p) === SIG_EOCD && p + 22 + buf.readUInt16LE(p + 20) === buf.length) return p;
    }
    this.fail('truncated: no zip end-of-central-directory record (the file ends early)');
  }

  private applyZip64Extra(entry: ZipEntry, start: number, length: number): void {
    const buf = this.buf;
    for (let p = start; p + 4 <= start + length; ) {
      const id = buf.readUInt16LE(p);
      const size = buf.readUInt16LE(p + 2);
      if (id === 0x0001) {
        let q = p + 4;
        const next = () => {
          if (q + 8 > p + 4 + size) this.fail(`corrupt zip (short zip64 field for ${entry.name})`);
          const v = this.safeNumber(buf.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (entry.size === 0xffffffff) entry.size = next();
        if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
        if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      }
      p += 4 + size;
    }
  }

  private safeNumber(v: bigint): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('corrupt zip (offset out of range)');
    return Number(v);
  }

  private fail(problem: string): never {
    throw new ModelFileError(this.file, problem);
  }
}

interface WrittenRecord {
  name: Buffer;
  crc32: number;
  size: number;
  offset: number;
}

/**
 * Writes a zip the way PyTorchStreamWriter does: every record under `<archive>/`, STORED, flags 0x0808 with a data
 * descriptor, an "FB" extra field padding data to 64 bytes, zeroed times, and a zip64 end record plus the classic one.
 */
export class TorchZipWriter {
  private offset = 0;
  private readonly records: WrittenRecord[] = [];

  constructor(
    private readonly fh: FileHandle,
    private readonly archive: string,
  ) {}

  async writeRecord(name: string, data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const fullName = Buffer.from(`${this.archive}/${name}`, 'utf8');
    if (bytes.length >= 0xffffffff || this.offset >= 0xffffffff) throw new Error('checkpoints of 4 GB or more are not supported');
    const start = this.offset + 30 + fullName.length + 4;
    const pad = (ALIGNMENT - (start % ALIGNMENT)) % ALIGNMENT;
    const header = Buffer.alloc(30);
    header.writeUInt32LE(SIG_LOCAL, 0);
    header.writeUInt16LE(0x0808, 6);
    header.writeUInt16LE(fullName.length, 26);
    header.writeUInt16LE(4 + pad, 28);
    const extra = Buffer.alloc(4 + pad, 'Z');
    extra.write('FB', 0, 'latin1');
    extra.writeUInt16LE(pad, 2);
    const crc = crc32(bytes) >>> 0;
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(SIG_DESCRIPTOR, 0);
    descriptor.writeUInt32LE(crc, 4);
    descriptor.writeUInt32LE(bytes.length, 8);
    descriptor.writeUInt32LE(bytes.length, 12);
    await this.writeAll([header, fullName, extra, bytes, descriptor]);
    this.records.push({ name: fullName, crc32: crc, size: bytes.length, offset: this.offset });
    this.offset += 30 + fullName.length + extra.length + bytes.length + descriptor.length;
  }

  /** Writes the central directory and end records; the caller closes the handle. */
  async finish(): Promise<void> {
    const parts: Buffer[] = [];
    const cdOffset = this.offset;
    let cdSize = 0;
    for (const r of this.records) {
      const h = Buffer.alloc(46);
      h.writeUInt32LE(SIG_CENTRAL, 0);
      h.writeUInt16LE(0x0808, 8);
      h.writeUInt32LE(r.crc32, 16);
      h.writeUInt32LE(r.size, 20);
      h.writeUInt32LE(r.size, 24);
      h.writeUInt16LE(r.name.length, 28);
      h.writeUInt32LE(r.offset, 42);
      parts.push(h, r.name);
      cdSize += 46 + r.name.length;
    }
    const n = BigInt(this.records.length);
    const z64 = Buffer.alloc(56);
    z64.writeUInt32LE(SIG_ZIP64_EOCD, 0);
    z64.writeBigUInt64LE(44n, 4);
    z64.writeUInt16LE(0x031e, 12);
    z64.writeUInt16LE(45, 14);
    z64.writeBigUInt64LE(n, 24);
    z64.writeBigUInt64LE(n, 32);
    z64.writeBigUInt64LE(BigInt(cdSize), 40);
    z64.writeBigUInt64LE(BigInt(cdOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(SIG_ZIP64_LOCATOR, 0);
    locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    locator.writeUInt32LE(1, 16);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(SIG_EOCD, 0);
    eocd.writeUInt16LE(Math.min(this.records.length, 0xffff), 8);
    eocd.writeUInt16LE(Math.min(this.records.length, 0xffff), 10);
    eocd.writeUInt32LE(cdSize, 12);
    eocd.writeUInt32LE(cdOffset, 16);
    parts.push(z64, locator, eocd);
    await this.writeAll(parts);
  }

  private async writeAll(parts: Uint8Array[]): Promise<void> {
    const total = parts.reduce((s, b) => s + b.length, 0);
    let { bytesWritten } = await this.fh.writev(parts);
    // writev may write partially; finish the rest piecewise
    if (bytesWritten < total) {
      let skip = bytesWritten;
      for (const part of parts) {
        if (skip >= part.length) {
          skip -= part.length;
          continue;
        }
        let rest = part.subarray(skip);
        skip = 0;
        while (rest.length > 0) {
          ({ bytesWritten } = await this.fh.write(rest));
          rest = rest.subarray(bytesWritten);
        }
      }
    }
  }
}
