// The official ImagePool (util/image_pool.py): until it holds pool_size
// images it stores each new one and returns it; after that, with
// probability 1/2 it returns a stored image and stores the new one in its
// place, otherwise it returns the new image. Draws come from the run's RNG.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng';

export interface PoolState {
  /** Stored images, each [1, H, W, C] float32. */
  images: { shape: number[]; data: Float32Array }[];
}

export class ImagePool {
  private images: tf.Tensor4D[] = [];

  constructor(
    readonly poolSize: number,
    private readonly rng: Rng,
  ) {}

  /** Images for the discriminator; the result is a new tensor the caller owns. */
  query(batch: tf.Tensor4D): tf.Tensor4D {
    if (this.poolSize === 0) return tf.clone(batch);
    const out: tf.Tensor4D[] = [];
    const n = batch.shape[0];
    for (let i = 0; i < n; i++) {
      const image = tf.slice(batch, [i, 0, 0, 0], [1, -1, -1, -1]);
      if (this.images.length < this.poolSize) {
        this.images.push(tf.keep(tf.clone(image)));
        out.push(image);
      } else if (this.rng.uniform() > 0.5) {
        const id = this.rng.randint(0, this.poolSize - 1);
        const old = this.images[id];
        out.push(tf.clone(old));
        old.dispose();
        this.images[id] = tf.keep(tf.clone(image));
        image.dispose();
      } else {
        out.push(image);
      }
    }
    const result = tf.concat(out, 0);
    for (const t of out) t.dispose();
    return result;
  }

  get size(): number {
    return this.images.length;
  }

  async getState(): Promise<PoolState> {
    const images = [];
    for (const t of this.images) images.push({ shape: t.shape, data: (await t.data()) as Float32Array });
    return { images };
  }

  setState(s: PoolState): void {
    this.dispose();
    this.images = s.images.map((im) => tf.keep(tf.tensor4d(im.data, im.shape as [number, number, number, number])));
  }

  dispose(): void {
    for (const t of this.images) t.dispose();
    this.images = [];
  }
}
