// The training panel: status and controls, mode-collapse checks, loss curves
// (one chart per group of official losses, smoothing slider), sample strips
// over steps (step slider), and the run's options. Renders whatever complete
// snapshot the host posts; smoothing and the chosen step live in the webview
// state so a hidden panel comes back as it was left.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import './training.css';
import type { PanelSample, TrainingHostMessage, TrainingPanelMessage, TrainingPanelSnapshot } from '../../protocol/panels/training';
import type { TrainingStatus } from '../../protocol/training';
import { connectToHost } from '../common/vscodeApi';
import { Chart, type ChartSpec } from './charts';
import { collapseFindings, diversityColumns, lossColumns, lossGroups, stripColumns, stripRows } from './series';

interface PanelState {
  runDir: string;
  smoothing: number;
  /** Step of the sample strip shown; undefined follows the latest. */
  sampleStep?: number;
}

const host = connectToHost<TrainingHostMessage, TrainingPanelMessage, PanelState>();
const app = document.getElementById('app')!;
let snapshot: TrainingPanelSnapshot | undefined;
let state: PanelState | undefined = host.getState();
let charts: Chart[] = [];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(label: string, onClick: () => void, secondary = true): HTMLElement {
  const b = el('vscode-button');
  b.textContent = label;
  if (secondary) b.setAttribute('secondary', '');
  b.addEventListener('click', onClick);
  return b;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function statusLine(s: TrainingStatus | undefined, snap: TrainingPanelSnapshot): string {
  const lastStep = snap.records.at(-1)?.step ?? 0;
  const total = s?.total || (typeof snap.options?.iterations === 'number' ? snap.options.iterations : 0);
  const parts = [`step ${s?.step ?? lastStep}/${total || '?'}`];
  const epoch = s?.epoch || snap.records.at(-1)?.epoch;
  if (epoch) parts.push(`epoch ${epoch}`);
  if (s?.iterationsPerSecond) parts.push(`${s.iterationsPerSecond.toFixed(2)} it/s`);
  if (s?.state === 'running' && s.etaSeconds !== undefined) parts.push(`ETA ${duration(s.etaSeconds)}`);
  if (snap.checkpointStep !== undefined) parts.push(`checkpoint at step ${snap.checkpointStep}`);
  if (s?.backend) parts.push(`backend ${s.backend}`);
  return parts.join(' · ');
}

function renderHeader(snap: TrainingPanelSnapshot): HTMLElement {
  const header = el('header', 'top');
  const title = el('div', 'title-row');
  title.append(el('h1', 'title', snap.name));
  const s = snap.status;
  const state = s?.state ?? (snap.checkpointStep !== undefined ? 'stopped' : 'not started');
  const badge = el('vscode-badge', `state state-${state.replace(' ', '-')}`, state);
  badge.dataset.state = state;
  title.append(badge, el('span', 'model', [snap.model, snap.options?.preset].filter(Boolean).join(' · ')));
  const actions = el('div', 'actions');
  const active = s && ['starting', 'running', 'stopping'].includes(s.state);
  if (active) actions.append(button('Stop', () => host.post({ type: 'stop' }), false));
  else if (snap.options) actions.append(button(snap.checkpointStep !== undefined ? 'Resume' : 'Start', () => host.post({ type: 'resume' }), false));
  if (snap.options) actions.append(button('options.json', () => host.post({ type: 'openFile', path: `${snap.runDir}/options.json` })));
  actions.append(button('Reveal folder', () => host.post({ type: 'revealRun' })));
  title.append(actions);
  header.append(title, el('div', 'progress', statusLine(s, snap)));
  if (s?.message) header.append(el('div', `message${s.state === 'failed' ? ' error' : ''}`, s.message));
  if (snap.error) header.append(el('div', 'message error', snap.error));
  for (const w of snap.warnings) header.append(el('div', 'message warning', w));
  return header;
}

function renderFindings(snap: TrainingPanelSnapshot): HTMLElement {
  const box = el('section', 'findings');
  box.append(el('h2', undefined, 'Mode collapse check'));
  const ganMode = typeof snap.options?.gan_mode === 'string' ? snap.options.gan_mode : undefined;
  for (const f of collapseFindings(snap.model, snap.records, snap.diversity, ganMode)) {
    const p = el('p', `finding ${f.level}`, f.text);
    p.dataset.level = f.level;
    box.append(p);
  }
  box.append(el('p', 'note', 'Measured on the two fixed probe images of the sample strips: a coarse signal, worth a look when it falls, not a verdict.'));
  return box;
}

function chartSpecs(snap: TrainingPanelSnapshot): ChartSpec[] {
  const specs: ChartSpec[] = lossGroups(snap.model, snap.records).map((g) => ({ title: g.title, names: g.names }));
  if (snap.diversity.length) {
    specs.push({ title: 'Output diversity (generated / input differences, probe images)', names: snap.model === 'pix2pix' ? ['G'] : ['G_A (A→B)', 'G_B (B→A)'] });
  }
  return specs;
}

function renderCharts(snap: TrainingPanelSnapshot, section: HTMLElement): void {
  const specs = chartSpecs(snap);
  const same = specs.length === charts.length && specs.every((s, i) => s.title === charts[i]!.spec.title && s.names.join() === charts[i]!.spec.names.join());
  if (!same) {
    for (const c of charts) c.destroy();
    charts = specs.map((s) => new Chart(s));
  }
  const grid = el('div', 'charts');
  grid.append(...charts.map((c) => c.element));
  section.append(grid);
  const weight = state?.smoothing ?? 0.6;
  const groups = lossGroups(snap.model, snap.records);
  // Charts are measured once they are in the document.
  requestAnimationFrame(() => {
    charts.forEach((c, i) => {
      const g = groups[i];
      if (g) c.setData(lossColumns(snap.records, g.names, weight));
      else {
        const [x, a, b] = diversityColumns(snap.diversity);
        c.setData(snap.model === 'pix2pix' ? [x, a] : [x, a, b]);
      }
    });
  });
}

function renderCurves(snap: TrainingPanelSnapshot): HTMLElement {
  const section = el('section', 'curves');
  const head = el('div', 'section-head');
  head.append(el('h2', undefined, 'Losses'));
  const label = el('label', 'smoothing');
  const slider = el('input');
  slider.type = 'range';
  slider.min = '0';
  slider.max = '0.99';
  slider.step = '0.01';
  slider.value = String(state?.smoothing ?? 0.6);
  slider.id = 'smoothing';
  const value = el('span', 'smoothing-value', Number(slider.value).toFixed(2));
  slider.addEventListener('input', () => {
    value.textContent = Number(slider.value).toFixed(2);
    save({ smoothing: Number(slider.value) });
    const groups = lossGroups(snap.model, snap.records);
    groups.forEach((g, i) => charts[i]?.setData(lossColumns(snap.records, g.names, Number(slider.value))));
  });
  label.append('Smoothing ', slider, value);
  head.append(label);
  section.append(head);
  if (snap.records.length === 0) section.append(el('p', 'empty', 'No logged step yet: the first record is written after print_every steps.'));
  renderCharts(snap, section);
  return section;
}

function showStrip(container: HTMLElement, snap: TrainingPanelSnapshot, sample: PanelSample): void {
  container.replaceChildren();
  const cols = stripColumns(snap.model);
  const rows = stripRows(snap.model, sample.rows);
  const wrap = el('div', 'strip');
  const heads = el('div', 'strip-heads');
  heads.append(el('span'), ...cols.map((c) => el('span', 'strip-col', c)));
  const body = el('div', 'strip-body');
  const labels = el('div', 'strip-rows');
  labels.append(...rows.map((r) => el('span', 'strip-row', r)));
  const img = el('img', 'strip-img');
  img.src = sample.uri;
  img.alt = `samples at step ${sample.step}`;
  img.title = 'Open the strip in an editor';
  img.addEventListener('click', () => host.post({ type: 'openFile', path: sample.file }));
  body.append(labels, img);
  wrap.append(heads, body);
  container.append(wrap);
}

function renderSamples(snap: TrainingPanelSnapshot): HTMLElement {
  const section = el('section', 'samples');
  const head = el('div', 'section-head');
  head.append(el('h2', undefined, 'Samples'));
  section.append(head);
  if (snap.samples.length === 0) {
    section.append(el('p', 'empty', 'No sample strip yet: one is written every sample_every steps and at the end.'));
    return section;
  }
  const wanted = state?.sampleStep;
  let index = wanted === undefined ? snap.samples.length - 1 : Math.max(0, snap.samples.findIndex((s) => s.step === wanted));
  const label = el('label', 'step-label');
  const slider = el('input');
  slider.type = 'range';
  slider.id = 'sample-step';
  slider.min = '0';
  slider.max = String(snap.samples.length - 1);
  slider.step = '1';
  slider.value = String(index);
  const value = el('span', 'step-value', `step ${snap.samples[index]!.step}`);
  label.append(slider, value);
  head.append(label);
  const view = el('div', 'strip-view');
  section.append(view);
  showStrip(view, snap, snap.samples[index]!);
  slider.addEventListener('input', () => {
    index = Number(slider.value);
    const s = snap.samples[index]!;
    value.textContent = `step ${s.step}`;
    // The last strip means "follow the latest" as new strips arrive.
    save({ sampleStep: index === snap.samples.length - 1 ? undefined : s.step });
    showStrip(view, snap, s);
  });
  return section;
}

function renderOptions(snap: TrainingPanelSnapshot): HTMLElement {
  const box = el('vscode-collapsible');
  box.setAttribute('heading', 'Run options (options.json)');
  box.className = 'options';
  const table = el('table', 'options-table');
  for (const [k, v] of Object.entries(snap.options ?? {})) {
    const tr = el('tr');
    tr.append(el('th', undefined, k), el('td', undefined, v === null ? 'null' : String(v)));
    table.append(tr);
  }
  box.append(snap.options ? table : el('p', 'empty', 'options.json is missing.'));
  return box;
}

function save(patch: Partial<PanelState>): void {
  if (!snapshot) return;
  state = { runDir: snapshot.runDir, smoothing: state?.smoothing ?? 0.6, sampleStep: state?.sampleStep, ...patch };
  host.setState(state);
}

function render(next: TrainingPanelSnapshot): void {
  if (state && state.runDir !== next.runDir) state = undefined;
  snapshot = next;
  const main = el('main', 'content');
  main.append(renderFindings(next), renderCurves(next), renderSamples(next), renderOptions(next));
  app.replaceChildren(renderHeader(next), main);
}

host.onMessage((m) => {
  if (m.type === 'snapshot') render(m.snapshot);
});

new ResizeObserver(() => { for (const c of charts) c.resize(); }).observe(app);
// VS Code switches themes by changing the body's class.
new MutationObserver(() => { for (const c of charts) c.restyle(); }).observe(document.body, { attributes: true, attributeFilter: ['class'] });

host.post({ type: 'ready' });
