// Per-domain statistics for the dataset view's plots, computed from the scan's
// per-image numbers (no second decode): colour histograms, brightness, sizes.
import type { DomainStatistics } from '../../protocol/dataset';
import type { Domain, ScanResult } from './checks/types';

export const BRIGHTNESS_BINS = 20;

export type DomainStats = DomainStatistics;

export function domainStatistics(scan: Pick<ScanResult, 'images'>): DomainStats[] {
  const byDomain = new Map<Domain, DomainStats>();
  for (const img of scan.images) {
    const f = img.features;
    if (!f) continue;
    let s = byDomain.get(img.domain);
    if (!s) {
      const bins = f.histogram.length / 3;
      s = { domain: img.domain, images: 0, histogram: { r: new Array(bins).fill(0), g: new Array(bins).fill(0), b: new Array(bins).fill(0) },
        brightness: new Array(BRIGHTNESS_BINS).fill(0), sizes: [] };
      byDomain.set(img.domain, s);
    }
    s.images++;
    const bins = s.histogram.r.length;
    for (let k = 0; k < bins; k++) {
      s.histogram.r[k] += f.histogram[k];
      s.histogram.g[k] += f.histogram[bins + k];
      s.histogram.b[k] += f.histogram[2 * bins + k];
    }
    s.brightness[Math.min(BRIGHTNESS_BINS - 1, Math.floor(f.brightness * BRIGHTNESS_BINS))]++;
    const size = s.sizes.find((z) => z.width === f.width && z.height === f.height);
    if (size) size.count++;
    else s.sizes.push({ width: f.width, height: f.height, count: 1 });
  }
  for (const s of byDomain.values()) {
    for (const c of ['r', 'g', 'b'] as const) s.histogram[c] = s.histogram[c].map((v) => v / s.images);
    s.sizes.sort((a, b) => b.count - a.count || a.width - b.width || a.height - b.height);
  }
  return [...byDomain.values()].sort((a, b) => (a.domain < b.domain ? -1 : 1));
}
