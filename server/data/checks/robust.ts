// Median and MAD: statistics that a few bad images cannot drag around.

export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median absolute deviation scaled to a standard deviation for normal data (×1.4826). */
export function mad(values: ArrayLike<number>, centre = median(values)): number {
  return 1.4826 * median(Array.from(values, (v) => Math.abs(v - centre)));
}

/** Robust z-scores; a zero spread (all equal) counts as a spread of `floor`. */
export function robustZ(values: number[], floor = 1e-9): number[] {
  const c = median(values);
  const s = Math.max(mad(values, c), floor);
  return values.map((v) => (v - c) / s);
}
