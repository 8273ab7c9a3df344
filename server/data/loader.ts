// Batches for the training loop, decoded ahead of time so the loop does not
// wait on JPEG decoding after the first batch. Batch k is a pure function of
// (seed, k): the epoch's shuffle and every crop/flip/B-pick come from
// generators keyed by (seed, epoch, position), so a resumed run at step k
// sees exactly the batches an uninterrupted run would.
import type { Sample, TrainDataset } from './datasets';
import { Rng } from '../train/rng';

export interface LoaderOptions {
  batch_size: number;
  serial_batches: boolean;
  seed: number;
}

export interface Batch {
  /** 0-based optimisation step this batch is for. */
  step: number;
  /** 1-based epoch as the official loop counts it. */
  epoch: number;
  /** NHWC float32 in [-1, 1]. */
  A: Float32Array;
  B: Float32Array;
  shapeA: [number, number, number, number];
  shapeB: [number, number, number, number];
  pathsA: string[];
  pathsB: string[];
}

const SHUFFLE_STREAM = 0x5f1e;
const ITEM_STREAM = 0x17e3;

function stack(items: Sample[], side: 'A' | 'B'): { data: Float32Array; shape: [number, number, number, number] } {
  const first = items[0][side];
  const per = first.data.length;
  const data = new Float32Array(per * items.length);
  items.forEach((s, i) => {
    const img = s[side];
    if (img.width !== first.width || img.height !== first.height) {
      const p = side === 'A' ? s.pathA : s.pathB;
      throw new Error(`${p}: preprocessed to ${img.width}x${img.height} but the batch holds ${first.width}x${first.height}; use batch_size 1 or a preprocess mode with a fixed size`);
    }
    data.set(img.data, i * per);
  });
  return { data, shape: [items.length, first.height, first.width, 3] };
}

export class Loader {
  readonly iterationsPerEpoch: number;
  private readonly queue = new Map<number, Promise<Batch>>();
  private permEpoch = -1;
  private perm: number[] = [];

  constructor(
    private readonly dataset: TrainDataset,
    private readonly o: LoaderOptions,
    /** How many batches to decode ahead. */
    private readonly prefetch = 2,
  ) {
    this.iterationsPerEpoch = Math.ceil(dataset.size / o.batch_size);
  }

  /** Dataset indices of batch `step`, in the official order (shuffled each epoch unless serial_batches; last batch may be short). */
  indices(step: number): { epoch: number; indices: number[]; first: number } {
    const epoch0 = Math.floor(step / this.iterationsPerEpoch);
    const k = step % this.iterationsPerEpoch;
    if (epoch0 !== this.permEpoch) {
      this.perm = this.o.serial_batches ? Array.from({ length: this.dataset.size }, (_, i) => i) : Rng.from(this.o.seed, SHUFFLE_STREAM, epoch0).permutation(this.dataset.size);
      this.permEpoch = epoch0;
    }
    const first = k * this.o.batch_size;
    return { epoch: epoch0 + 1, indices: this.perm.slice(first, first + this.o.batch_size), first };
  }

  private async build(step: number): Promise<Batch> {
    const { epoch, indices, first } = this.indices(step);
    const items = await Promise.all(indices.map((idx, j) => this.dataset.load(idx, Rng.from(this.o.seed, ITEM_STREAM, epoch, first + j))));
    const a = stack(items, 'A');
    const b = stack(items, 'B');
    return { step, epoch, A: a.data, B: b.data, shapeA: a.shape, shapeB: b.shape, pathsA: items.map((s) => s.pathA), pathsB: items.map((s) => s.pathB) };
  }

  private schedule(step: number): Promise<Batch> {
    let p = this.queue.get(step);
    if (!p) {
      p = this.build(step);
      // A failed prefetch is reported when its batch is asked for, not as an unhandled rejection.
      p.catch(() => undefined);
      this.queue.set(step, p);
    }
    return p;
  }

  /** The batch for `step`; starts decoding the following ones. */
  async get(step: number): Promise<Batch> {
    for (const s of this.queue.keys()) if (s < step) this.queue.delete(s);
    const p = this.schedule(step);
    for (let i = 1; i <= this.prefetch; i++) this.schedule(step + i);
    const batch = await p;
    this.queue.delete(step);
    return batch;
  }
}
