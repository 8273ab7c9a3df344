// Float64 reference implementations of the layers, written straight from the
// PyTorch definitions with plain loops (NHWC), and finite differences on them.
// Tests compare our tfjs layers and their gradients against these.

export interface T64 {
  shape: number[];
  data: Float64Array;
}

export function t64(shape: number[], data?: ArrayLike<number>): T64 {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: data ? Float64Array.from(data) : new Float64Array(n) };
}

/** Deterministic values in [-1, 1). */
export function randomT64(shape: number[], seed: number): T64 {
  let a = seed >>> 0;
  const t = t64(shape);
  for (let i = 0; i < t.data.length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    t.data[i] = a / 2 ** 31 - 1;
  }
  return t;
}

const at4 = (s: number[], n: number, h: number, w: number, c: number) => ((n * s[1] + h) * s[2] + w) * s[3] + c;

/** nn.Conv2d without bias: x [N,H,W,C], w [kh,kw,C,O], zero padding. */
export function conv2dRef(x: T64, w: T64, stride: number, pad: number): T64 {
  const [N, H, W, C] = x.shape;
  const [kh, kw, , O] = w.shape;
  const oh = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const y = t64([N, oh, ow, O]);
  for (let n = 0; n < N; n++)
    for (let a = 0; a < oh; a++)
      for (let b = 0; b < ow; b++)
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const r = a * stride + i - pad;
              const q = b * stride + j - pad;
              if (r < 0 || r >= H || q < 0 || q >= W) continue;
              for (let c = 0; c < C; c++) s += x.data[at4(x.shape, n, r, q, c)] * w.data[at4(w.shape, i, j, c, o)];
            }
          y.data[at4(y.shape, n, a, b, o)] = s;
        }
  return y;
}

/** nn.ConvTranspose2d without bias: x [N,H,W,Cin], w [kh,kw,Cout,Cin]; each input pixel scatters its kernel. */
export function convTransposeRef(x: T64, w: T64, stride: number, pad: number, outputPadding: number): T64 {
  const [N, H, W, C] = x.shape;
  const [kh, kw, O] = w.shape;
  const oh = (H - 1) * stride - 2 * pad + kh + outputPadding;
  const ow = (W - 1) * stride - 2 * pad + kw + outputPadding;
  const y = t64([N, oh, ow, O]);
  for (let n = 0; n < N; n++)
    for (let a = 0; a < H; a++)
      for (let b = 0; b < W; b++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const r = a * stride + i - pad;
            const q = b * stride + j - pad;
            if (r < 0 || r >= oh || q < 0 || q >= ow) continue;
            for (let o = 0; o < O; o++) {
              let s = 0;
              for (let c = 0; c < C; c++) s += x.data[at4(x.shape, n, a, b, c)] * w.data[at4(w.shape, i, j, o, c)];
              y.data[at4(y.shape, n, r, q, o)] += s;
            }
          }
  return y;
}

/** nn.ReflectionPad2d(p). */
export function reflectPadRef(x: T64, p: number): T64 {
  const [N, H, W, C] = x.shape;
  const y = t64([N, H + 2 * p, W + 2 * p, C]);
  const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  for (let n = 0; n < N; n++)
    for (let r = 0; r < H + 2 * p; r++)
      for (let q = 0; q < W + 2 * p; q++)
        for (let c = 0; c < C; c++) y.data[at4(y.shape, n, r, q, c)] = x.data[at4(x.shape, n, reflect(r - p, H), reflect(q - p, W), c)];
  return y;
}

/** Normalise groups of elements (given by index lists) with biased variance, eps 1e-5. */
function normaliseGroups(x: T64, groups: number[][]): T64 {
  const y = t64(x.shape);
  for (const g of groups) {
    let mean = 0;
    for (const i of g) mean += x.data[i];
    mean /= g.length;
    let v = 0;
    for (const i of g) v += (x.data[i] - mean) ** 2;
    v /= g.length;
    for (const i of g) y.data[i] = (x.data[i] - mean) / Math.sqrt(v + 1e-5);
  }
  return y;
}

/** nn.InstanceNorm2d(affine=False): per sample and channel. */
export function instanceNormRef(x: T64): T64 {
  const [N, H, W, C] = x.shape;
  const groups: number[][] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const g: number[] = [];
      for (let r = 0; r < H; r++) for (let q = 0; q < W; q++) g.push(at4(x.shape, n, r, q, c));
      groups.push(g);
    }
  return normaliseGroups(x, groups);
}

/** nn.BatchNorm2d in train mode: per channel over N, H, W, then weight and bias. */
export function batchNormTrainRef(x: T64, weight: T64, bias: T64): T64 {
  const [N, H, W, C] = x.shape;
  const groups: number[][] = [];
  for (let c = 0; c < C; c++) {
    const g: number[] = [];
    for (let n = 0; n < N; n++) for (let r = 0; r < H; r++) for (let q = 0; q < W; q++) g.push(at4(x.shape, n, r, q, c));
    groups.push(g);
  }
  const y = normaliseGroups(x, groups);
  for (let i = 0; i < y.data.length; i++) y.data[i] = y.data[i] * weight.data[i % C] + bias.data[i % C];
  return y;
}

/**
 * Central finite differences (float64) of L = Σ f(inputs) · probe with respect to input `which`:
 * the reference gradient our float32 analytic gradients are held to.
 */
export function finiteDifferenceGrad(f: (inputs: T64[]) => T64, inputs: T64[], probe: T64, which: number, h = 1e-5): T64 {
  const loss = () => {
    const y = f(inputs);
    let s = 0;
    for (let i = 0; i < y.data.length; i++) s += y.data[i] * probe.data[i];
    return s;
  };
  const x = inputs[which];
  const g = t64(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const keep = x.data[i];
    x.data[i] = keep + h;
    const up = loss();
    x.data[i] = keep - h;
    const down = loss();
    x.data[i] = keep;
    g.data[i] = (up - down) / (2 * h);
  }
  return g;
}

/** max |a - b| / max |b|. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
