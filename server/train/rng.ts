// A small seeded PRNG (sfc32) whose whole state is four uint32s, so it can be
// saved in a checkpoint and a resumed run draws exactly the same numbers.

export type RngState = [number, number, number, number];

/** splitmix32: spreads arbitrary integers into well-mixed seed words. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private s: RngState;

  constructor(state: RngState) {
    this.s = [state[0] >>> 0, state[1] >>> 0, state[2] >>> 0, state[3] >>> 0];
  }

  /** A generator determined by a list of integers (seed, stream tag, epoch, index…). */
  static from(...keys: number[]): Rng {
    let h = 0x12345678;
    for (const k of keys) h = splitmix32(h ^ splitmix32(k | 0) ^ splitmix32(Math.floor(k / 2 ** 32)));
    const s: RngState = [splitmix32(h), splitmix32(h + 1), splitmix32(h + 2), splitmix32(h + 3)];
    const r = new Rng(s);
    for (let i = 0; i < 12; i++) r.nextUint32(); // warm up, as sfc32 recommends
    return r;
  }

  nextUint32(): number {
    let [a, b, c, d] = this.s;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.s = [a >>> 0, b >>> 0, c >>> 0, d >>> 0];
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Uniform integer in [lo, hi], both inclusive, as Python's random.randint. */
  randint(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** A fresh 31-bit seed for ops that take one (dropout). */
  seed(): number {
    return this.nextUint32() >>> 1;
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  get state(): RngState {
    return [...this.s] as RngState;
  }
}
