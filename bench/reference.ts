// The official PyTorch implementation's figures on this kind of machine
// (../shared/reference/README.md: torch 2.13 CPU, 2 threads, median of 10 after
// 3 warm-ups). Where the README gives a range, the faster end is used.
export const REFERENCE_SOURCE = '../shared/reference/README.md (official code, torch 2.13, 2 threads)';

export const REFERENCE: Record<string, { seconds_per_iteration: number } | { images_per_second: number }> = {
  cg_r6_ngf32_64: { seconds_per_iteration: 0.31 },
  cg_r6_ngf32_128: { seconds_per_iteration: 0.79 },
  cg_r9_ngf64_256: { seconds_per_iteration: 11.3 },
  p2p_unet256_256: { seconds_per_iteration: 0.69 },
  // generator forward only (no decode/encode)
  inf_r9_ngf64_256: { images_per_second: 1.7 },
  inf_unet256_256: { images_per_second: 9.3 },
};

/** The targets: ours / PyTorch at most this for training, images/s at least this × PyTorch for translation. */
export const TARGET: Record<string, number> = {
  cg_r6_ngf32_64: 0.9,
  cg_r6_ngf32_128: 0.9,
  p2p_unet256_256: 0.9,
  cg_r9_ngf64_256: 1.0,
  inf_r9_ngf64_256: 1.0,
  inf_unet256_256: 1.2,
};
