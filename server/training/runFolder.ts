// Reads a run folder as the engine writes it (options.json, log.jsonl,
// samples/step-N.png, checkpoints/) into the complete snapshot the training
// panel shows and the extension recovers from after a server restart.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DiversityPoint, LogRecord, RunOptionsJson, RunSnapshot, RunSummary, SampleInfo, TrainModel, TrainPreset } from '../../protocol/training';
import { findCheckpoint } from '../train/checkpoint';
import { measureStrip } from './diversity';

const SAMPLE = /^step-(\d+)\.png$/;

/** Parsed once per file version: strips never change after their atomic rename. */
const measured = new Map<string, { key: string; rows: number; columns: number; point?: DiversityPoint }>();

function isRecord(v: unknown): v is LogRecord {
  const r = v as LogRecord;
  return typeof r === 'object' && r !== null && Number.isFinite(r.step) && Number.isFinite(r.epoch) &&
    typeof r.losses === 'object' && r.losses !== null && Object.values(r.losses).every((x) => typeof x === 'number');
}

export async function readOptionsJson(runDir: string, warnings: string[]): Promise<RunOptionsJson | undefined> {
  const text = await fs.readFile(path.join(runDir, 'options.json'), 'utf8').catch(() => undefined);
  if (text === undefined) {
    warnings.push('options.json is missing');
    return undefined;
  }
  try {
    const o = JSON.parse(text) as unknown;
    if (typeof o === 'object' && o !== null && !Array.isArray(o)) return o as RunOptionsJson;
    warnings.push('options.json is not a JSON object');
  } catch (e) {
    warnings.push(`options.json: ${(e as Error).message}`);
  }
  return undefined;
}

/** log.jsonl records; a line cut short by a kill (or otherwise malformed) is skipped with a warning. */
export async function readLog(runDir: string, warnings: string[]): Promise<LogRecord[]> {
  const text = await fs.readFile(path.join(runDir, 'log.jsonl'), 'utf8').catch(() => '');
  const records: LogRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const r = JSON.parse(line) as unknown;
      if (isRecord(r)) records.push(r);
      else warnings.push(`log.jsonl line ${i + 1}: not a step record`);
    } catch {
      warnings.push(`log.jsonl line ${i + 1}: malformed JSON`);
    }
  });
  // A resumed run appends from its checkpoint's step: keep the latest record of each step.
  const byStep = new Map(records.map((r) => [r.step, r]));
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

async function readSamples(runDir: string, model: TrainModel | undefined, warnings: string[]): Promise<{ samples: SampleInfo[]; diversity: DiversityPoint[] }> {
  const dir = path.join(runDir, 'samples');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const samples: SampleInfo[] = [];
  const diversity: DiversityPoint[] = [];
  for (const name of names) {
    const m = SAMPLE.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const step = Number(m[1]);
    try {
      const st = await fs.stat(file);
      const key = `${st.size}:${st.mtimeMs}:${model}`;
      let entry = measured.get(file);
      if (entry?.key !== key) {
        const r = await measureStrip(file, model ?? 'cyclegan', step);
        entry = { key, rows: r?.layout.rows ?? 1, columns: r?.layout.columns ?? 3, point: model ? r?.point : undefined };
        measured.set(file, entry);
      }
      samples.push({ step, file, rows: entry.rows, columns: entry.columns });
      if (entry.point && Object.keys(entry.point.ratio).length) diversity.push(entry.point);
    } catch (e) {
      warnings.push(`samples/${name}: ${(e as Error).message}`);
    }
  }
  samples.sort((a, b) => a.step - b.step);
  diversity.sort((a, b) => a.step - b.step);
  return { samples, diversity };
}

function modelOf(o: RunOptionsJson | undefined): TrainModel | undefined {
  return o?.model === 'cyclegan' || o?.model === 'pix2pix' ? o.model : undefined;
}

export async function readRunSnapshot(runDir: string): Promise<RunSnapshot> {
  const st = await fs.stat(runDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`${runDir}: not a folder`);
  const warnings: string[] = [];
  const options = await readOptionsJson(runDir, warnings);
  const records = await readLog(runDir, warnings);
  const { samples, diversity } = await readSamples(runDir, modelOf(options), warnings);
  const checkpoint = await findCheckpoint(path.join(runDir, 'checkpoints'));
  return {
    runDir,
    name: typeof options?.name === 'string' && options.name ? options.name : path.basename(runDir),
    options,
    records,
    samples,
    diversity,
    checkpointStep: checkpoint?.step,
    warnings,
  };
}

/** Run folders under <workspace>/.domain-translator/runs, newest first. */
export async function listRuns(workspace: string): Promise<RunSummary[]> {
  const runsDir = path.join(workspace, '.domain-translator', 'runs');
  const entries = await fs.readdir(runsDir, { withFileTypes: true }).catch(() => []);
  const out: (RunSummary & { mtime: number })[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const runDir = path.join(runsDir, e.name);
    const options = await readOptionsJson(runDir, []);
    const checkpoint = await findCheckpoint(path.join(runDir, 'checkpoints'));
    if (!options && !checkpoint) continue;
    const preset = options?.preset;
    const mtime = (await fs.stat(runDir)).mtimeMs;
    out.push({
      runDir,
      name: typeof options?.name === 'string' && options.name ? options.name : e.name,
      model: modelOf(options),
      preset: preset === 'preview' || preset === 'standard' || preset === 'full' ? (preset as TrainPreset) : undefined,
      iterations: typeof options?.iterations === 'number' ? options.iterations : undefined,
      checkpointStep: checkpoint?.step,
      hasOptions: options !== undefined,
      mtime,
    });
  }
  return out.sort((a, b) => b.mtime - a.mtime).map(({ mtime: _, ...r }) => r);
}
