// Sample strips: one row per probe image, columns as the trainer gives them
// (x | G(x) | F(G(x)) for CycleGAN, A | G(A) | B for pix2pix), converted as the
// official tensor2im does: (x + 1) / 2 * 255, truncated to uint8.
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** rows[r][c]: [1, H, W, 3] tensors in [-1, 1]; all the same size. Disposes nothing. */
export async function writeStrip(file: string, rows: tf.Tensor4D[][]): Promise<void> {
  const img = tf.tidy(() => {
    const strip = tf.concat(rows.map((cols) => tf.concat(cols, 2)), 1);
    return tf.squeeze(tf.clipByValue(tf.floor(tf.mul(tf.div(tf.add(strip, 1), 2), 255)), 0, 255), [0]) as tf.Tensor3D;
  });
  const [h, w] = img.shape;
  const data = Uint8Array.from(await img.data());
  img.dispose();
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await sharp(Buffer.from(data.buffer), { raw: { width: w, height: h, channels: 3 } }).png().toFile(tmp);
  await fs.rename(tmp, file);
}
