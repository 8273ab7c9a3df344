// The official preprocessing (data/base_dataset.py: get_params, get_transform,
// __scale_width, __crop, __make_power_2, __flip) on sharp: decode, resize with
// a bicubic kernel as PIL's BICUBIC, crop, flip, then ToTensor + Normalize(0.5, 0.5)
// to [-1, 1]. Output is float32 HWC (NHWC without N), the layout tfjs uses.
import sharp from 'sharp';
import type { Preprocess } from '../options/options';
import type { Rng } from '../train/rng';

export interface PreprocessOptions {
  preprocess: Preprocess;
  load_size: number;
  crop_size: number;
  no_flip: boolean;
}

/** Which part of the file is the image: all of it, or one half of an aligned A|B file. */
export type Region = 'whole' | 'left' | 'right';

export interface TransformParams {
  /** Crop corner in the resized image. */
  x: number;
  y: number;
  flip: boolean;
}

export interface ImageTensorData {
  /** HWC, 3 channels, values in [-1, 1]. */
  data: Float32Array;
  width: number;
  height: number;
}

/** Python's round(): halves go to the even neighbour. */
function pyRound(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Size after the resize step of get_transform, for an input of w x h. */
export function resizedSize(o: PreprocessOptions, w: number, h: number): { w: number; h: number } {
  if (o.preprocess.includes('resize')) return { w: o.load_size, h: o.load_size };
  if (o.preprocess.includes('scale_width')) {
    if (w === o.load_size && h >= o.crop_size) return { w, h };
    return { w: o.load_size, h: Math.floor(Math.max((o.load_size * h) / w, o.crop_size)) };
  }
  if (o.preprocess === 'none') return { w: pyRound(w / 4) * 4, h: pyRound(h / 4) * 4 };
  return { w, h };
}

/**
 * get_params: crop corner and flip, drawn in the official order (x, y, flip).
 * Like the official code, scale_width_and_crop bounds y by load_size * h // w.
 */
export function getParams(o: PreprocessOptions, w: number, h: number, rng: Rng): TransformParams {
  let newW = w;
  let newH = h;
  if (o.preprocess === 'resize_and_crop') newW = newH = o.load_size;
  else if (o.preprocess === 'scale_width_and_crop') {
    newW = o.load_size;
    newH = Math.floor((o.load_size * h) / w);
  }
  const x = rng.randint(0, Math.max(0, newW - o.crop_size));
  const y = rng.randint(0, Math.max(0, newH - o.crop_size));
  const flip = rng.uniform() > 0.5;
  return { x, y, flip };
}

/** ToTensor then Normalize((0.5,)*3, (0.5,)*3), in float32 as torchvision computes it. */
const TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => Math.fround((Math.fround(v / 255) - 0.5) / 0.5));

/** Header-only read: the size a decoded file (or its half) has. */
export async function imageSize(file: string, region: Region = 'whole'): Promise<{ w: number; h: number }> {
  const meta = await sharp(file).metadata();
  if (!meta.width || !meta.height) throw new Error(`${file}: not a readable image`);
  const w2 = Math.floor(meta.width / 2);
  if (region === 'left') return { w: w2, h: meta.height };
  if (region === 'right') return { w: meta.width - w2, h: meta.height };
  return { w: meta.width, h: meta.height };
}

/** Decode, take the region, resize as the preprocess mode says; RGB uint8 HWC. */
async function decodeResized(file: string, o: PreprocessOptions, region: Region): Promise<{ pixels: Buffer; w: number; h: number }> {
  const meta = await sharp(file).metadata();
  if (!meta.width || !meta.height) throw new Error(`${file}: not a readable image`);
  const w2 = Math.floor(meta.width / 2);
  const box = region === 'whole' ? { left: 0, top: 0, width: meta.width, height: meta.height } : region === 'left' ? { left: 0, top: 0, width: w2, height: meta.height } : { left: w2, top: 0, width: meta.width - w2, height: meta.height };
  const target = resizedSize(o, box.width, box.height);
  // Image.convert('RGB') in the official loader: grey and alpha images become 3-channel RGB.
  let img = sharp(file).removeAlpha().toColourspace('srgb');
  if (region !== 'whole') img = img.extract(box);
  if (target.w !== box.width || target.h !== box.height) img = img.resize(target.w, target.h, { fit: 'fill', kernel: 'cubic', fastShrinkOnLoad: false });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels, expected RGB`);
  return { pixels: data, w: info.width, h: info.height };
}

/**
 * The whole get_transform pipeline for one image. `params` fixes crop and
 * flip (aligned halves share them); without it they are drawn from `rng`
 * as RandomCrop / RandomHorizontalFlip would.
 */
export async function loadTransformed(file: string, o: PreprocessOptions, region: Region, params: TransformParams | Rng): Promise<ImageTensorData> {
  const { pixels, w, h } = await decodeResized(file, o, region);
  const p = 'x' in params ? params : getParams({ ...o, preprocess: 'crop' }, w, h, params);
  let cw = w;
  let ch = h;
  let x0 = 0;
  let y0 = 0;
  // __crop crops only when the image is larger than the crop in some direction; PIL fills outside with black.
  if (o.preprocess.includes('crop') && (w > o.crop_size || h > o.crop_size)) {
    cw = ch = o.crop_size;
    x0 = p.x;
    y0 = p.y;
  }
  const flip = !o.no_flip && p.flip;
  const out = new Float32Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) {
    const sy = y + y0;
    for (let x = 0; x < cw; x++) {
      const sx = (flip ? cw - 1 - x : x) + x0;
      const o3 = (y * cw + x) * 3;
      if (sy >= h || sx >= w) {
        out[o3] = out[o3 + 1] = out[o3 + 2] = TO_UNIT[0];
        continue;
      }
      const i3 = (sy * w + sx) * 3;
      out[o3] = TO_UNIT[pixels[i3]];
      out[o3 + 1] = TO_UNIT[pixels[i3 + 1]];
      out[o3 + 2] = TO_UNIT[pixels[i3 + 2]];
    }
  }
  return { data: out, width: cw, height: ch };
}
