// Mode-collapse signal from the sample strips the engine writes: how much the
// generated images of the two probe images differ, relative to how much their
// inputs (CycleGAN) or real targets (pix2pix) differ. A generator that has
// collapsed gives nearly the same output for every input, so the ratio falls
// towards 0. Two probes make this a coarse signal; the panel says so.
import sharp from 'sharp';
import type { DiversityPoint, TrainModel } from '../../protocol/training';

export interface StripLayout {
  rows: number;
  columns: number;
  /** Side of one square cell in pixels. */
  cell: number;
}

/** Rows of square cells, `columns` per row; undefined when the strip is not made of square cells. */
export function stripLayout(width: number, height: number, columns = 3): StripLayout | undefined {
  if (width % columns !== 0) return undefined;
  const cell = width / columns;
  if (cell === 0 || height % cell !== 0) return undefined;
  return { rows: height / cell, columns, cell };
}

/** Mean absolute difference (0..255) between two cells of an RGB strip. */
function cellDifference(data: Uint8Array, width: number, cell: number, a: [number, number], b: [number, number]): number {
  let sum = 0;
  for (let y = 0; y < cell; y++) {
    const rowA = ((a[0] * cell + y) * width + a[1] * cell) * 3;
    const rowB = ((b[0] * cell + y) * width + b[1] * cell) * 3;
    for (let x = 0; x < cell * 3; x++) sum += Math.abs(data[rowA + x]! - data[rowB + x]!);
  }
  return sum / (cell * cell * 3);
}

/**
 * Row order as the engine writes it: CycleGAN gives an A row (x | G_A(x) |
 * G_B(G_A(x))) and then a B row per probe; pix2pix one row (A | G(A) | B) per probe.
 */
export function diversityOf(data: Uint8Array, width: number, layout: StripLayout, model: TrainModel, step: number): DiversityPoint {
  const ratio: DiversityPoint['ratio'] = {};
  const { rows, cell } = layout;
  const of = (r0: number, r1: number, reference: number): number | undefined => {
    const ref = cellDifference(data, width, cell, [r0, reference], [r1, reference]);
    if (ref < 1) return undefined; // identical probes: no signal
    return cellDifference(data, width, cell, [r0, 1], [r1, 1]) / ref;
  };
  if (model === 'pix2pix') {
    if (rows >= 2) ratio.AtoB = of(0, 1, 2);
  } else if (rows === 4) {
    // Two rows per probe (A then B). Other counts (one probe; B rows of another size) give no comparable pair.
    ratio.AtoB = of(0, 2, 0);
    ratio.BtoA = of(1, 3, 0);
  }
  for (const k of Object.keys(ratio) as (keyof typeof ratio)[]) if (ratio[k] === undefined) delete ratio[k];
  return { step, ratio };
}

/** Reads a strip PNG and measures it; undefined when it is not a strip of square cells. */
export async function measureStrip(file: string, model: TrainModel, step: number): Promise<{ point: DiversityPoint; layout: StripLayout } | undefined> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const layout = stripLayout(info.width, info.height);
  if (!layout || info.channels !== 3) return undefined;
  return { point: diversityOf(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, layout, model, step), layout };
}
