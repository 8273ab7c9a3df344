// A small seeded generator for weight initialisation, so a seed reproduces a run.

/** mulberry32: uniform floats in [0, 1) from a 32-bit seed. */
export function uniformRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal samples (Box–Muller) with the given mean and standard deviation. */
export function normalRng(seed: number): (mean: number, std: number) => number {
  const u = uniformRng(seed);
  let spare: number | undefined;
  return (mean, std) => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return mean + std * z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const theta = 2 * Math.PI * u();
    spare = r * Math.sin(theta);
    return mean + std * r * Math.cos(theta);
  };
}
