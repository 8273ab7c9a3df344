// What the charts plot, computed from the snapshot: loss groups under the
// official names, debiased exponential smoothing (as TensorBoard's slider),
// and the mode-collapse checks the panel states in words.
import type { DiversityPoint, LogRecord, TrainModel } from '../../protocol/training';

export interface LossGroup {
  title: string;
  /** Official loss names in this chart. */
  names: string[];
}

const CYCLEGAN_GROUPS: LossGroup[] = [
  { title: 'Discriminators (D_A, D_B)', names: ['D_A', 'D_B'] },
  { title: 'Generators, adversarial (G_A, G_B)', names: ['G_A', 'G_B'] },
  { title: 'Cycle consistency (cycle_A, cycle_B)', names: ['cycle_A', 'cycle_B'] },
  { title: 'Identity (idt_A, idt_B)', names: ['idt_A', 'idt_B'] },
];
const PIX2PIX_GROUPS: LossGroup[] = [
  { title: 'Generator, adversarial (G_GAN)', names: ['G_GAN'] },
  { title: 'Generator, L1 (G_L1)', names: ['G_L1'] },
  { title: 'Discriminator (D_real, D_fake)', names: ['D_real', 'D_fake'] },
];

/** The model's groups, keeping only losses the log has; any unknown name gets its own chart. */
export function lossGroups(model: TrainModel | undefined, records: LogRecord[]): LossGroup[] {
  const present = new Set(records.flatMap((r) => Object.keys(r.losses)));
  const known = model === 'pix2pix' ? PIX2PIX_GROUPS : model === 'cyclegan' ? CYCLEGAN_GROUPS : [...CYCLEGAN_GROUPS, ...PIX2PIX_GROUPS];
  const groups = known.map((g) => ({ ...g, names: g.names.filter((n) => present.has(n)) })).filter((g) => g.names.length);
  const grouped = new Set(groups.flatMap((g) => g.names));
  for (const n of present) if (!grouped.has(n)) groups.push({ title: n, names: [n] });
  return groups;
}

/** TensorBoard's smoothing: exponential moving average, debiased so the first points are not pulled to 0. */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values;
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

/** uPlot's columnar data: [steps, series...]. Missing values are null. */
export function lossColumns(records: LogRecord[], names: string[], weight: number): [number[], ...(number | null)[][]] {
  const steps = records.map((r) => r.step);
  return [steps, ...names.map((n) => smooth(records.map((r) => r.losses[n] ?? null), weight))];
}

export function diversityColumns(points: DiversityPoint[]): [number[], (number | null)[], (number | null)[]] {
  return [points.map((p) => p.step), points.map((p) => p.ratio.AtoB ?? null), points.map((p) => p.ratio.BtoA ?? null)];
}

export interface Finding {
  level: 'ok' | 'warning';
  text: string;
}

/** Below this, a generator's outputs for two different inputs differ by under 15% of how much the inputs differ. */
export const COLLAPSE_RATIO = 0.15;
/** Mean discriminator loss over the last records below which the discriminator wins outright (LSGAN; BCE uses 0.05). */
const D_COLLAPSE = { lsgan: 0.01, vanilla: 0.05 };
const RECENT = 5;

/** The checks the panel reports, each with what it measured. */
export function collapseFindings(model: TrainModel | undefined, records: LogRecord[], diversity: DiversityPoint[], ganMode: string | undefined): Finding[] {
  const out: Finding[] = [];
  const last = diversity.at(-1);
  const gen = model === 'pix2pix' ? { AtoB: 'G' } : { AtoB: 'G_A', BtoA: 'G_B' };
  if (last) {
    for (const [dir, g] of Object.entries(gen) as ['AtoB' | 'BtoA', string][]) {
      const r = last.ratio[dir];
      if (r === undefined) continue;
      const first = diversity.find((p) => p.ratio[dir] !== undefined)?.ratio[dir];
      const trend = first !== undefined && diversity.length > 1 ? ` (${(100 * first).toFixed(0)}% at step ${diversity[0]!.step})` : '';
      const versus = model === 'pix2pix' ? 'the real targets' : 'the inputs';
      out.push(r < COLLAPSE_RATIO
        ? { level: 'warning', text: `Possible mode collapse: ${g}'s outputs for the two probe images differ only ${(100 * r).toFixed(0)}% as much as ${versus} do at step ${last.step}${trend}.` }
        : { level: 'ok', text: `${g}: outputs for the two probe images differ ${(100 * r).toFixed(0)}% as much as ${versus} at step ${last.step}${trend}.` });
    }
  } else {
    out.push({ level: 'ok', text: 'Output diversity appears with the first sample strip.' });
  }
  const recent = records.slice(-RECENT);
  if (recent.length === RECENT) {
    const limit = ganMode === 'vanilla' ? D_COLLAPSE.vanilla : D_COLLAPSE.lsgan;
    const dNames = Object.keys(recent[0]!.losses).filter((n) => n.startsWith('D_'));
    for (const n of dNames) {
      const mean = recent.reduce((s, r) => s + (r.losses[n] ?? 0), 0) / RECENT;
      if (mean < limit) out.push({ level: 'warning', text: `${n} averaged ${mean.toExponential(1)} over the last ${RECENT} records (under ${limit}): the discriminator wins every step and the generator learns little from it.` });
    }
  }
  return out;
}

/** Column headings of a sample strip. */
export function stripColumns(model: TrainModel | undefined): string[] {
  return model === 'pix2pix' ? ['A (input)', 'G(A)', 'B (target)'] : ['x (real)', 'G(x)', 'F(G(x)) (reconstruction)'];
}

/** Row labels of a strip as the engine writes it. */
export function stripRows(model: TrainModel | undefined, rows: number): string[] {
  if (model === 'pix2pix') return Array.from({ length: rows }, (_, i) => `probe ${i + 1}`);
  if (rows === 4) return ['A → B → A, probe 1', 'B → A → B, probe 1', 'A → B → A, probe 2', 'B → A → B, probe 2'];
  return Array.from({ length: rows }, (_, i) => `row ${i + 1}`);
}
