// The dataset view: layout and counts, a summary per issue kind (click to
// filter), sort, the two domains side by side (or A | B pair rows), a large
// preview, and domain statistics. Renders whatever complete snapshot the host
// posts; filter, sort and the open preview survive in the webview state.
import './dataset.css';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { ISSUE_KINDS, type DatasetImage, type Domain } from '../../protocol/dataset';
import type { DatasetHostMessage, DatasetPanelMessage, DatasetSnapshot } from '../../protocol/panels/dataset';
import { connectToHost } from '../common/vscodeApi';
import { renderStatistics } from './charts';
import { PairList } from './pairList';
import { Preview, type PreviewItem } from './preview';
import { ThumbGrid } from './thumbGrid';
import { ThumbnailCache } from './thumbnails';
import { buildModel, KIND_LABEL, pairRows, visibleImages, type Filter, type Model, type PairRow, type SortKey, type ViewOptions } from './viewModel';

interface PanelState extends ViewOptions {
  root: string;
  preview?: string;
}

const host = connectToHost<DatasetHostMessage, DatasetPanelMessage, PanelState>();
const app = document.getElementById('app')!;
let snapshot: DatasetSnapshot | undefined;
let model: Model | undefined;
let options: ViewOptions = { filter: 'all', sort: 'name', split: 'all', ...host.getState() };
let restorePreview = host.getState()?.preview;
/** The items the preview steps through: the list of the column or rows it was opened from. */
let previewList: PreviewItem[] = [];

const thumbs = new ThumbnailCache((files) => host.post({ type: 'thumbnails', files }));

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function save(): void {
  if (!snapshot) return;
  const file = preview.current ? (preview.current.kind === 'image' ? preview.current.image.file : (preview.current.row.a ?? preview.current.row.b)?.file) : undefined;
  host.setState({ ...options, root: snapshot.root, preview: file });
}

const preview = new Preview(document.body, {
  exclude: (files) => host.post({ type: 'exclude', files, reason: reasonFor(files[0]!) }),
  include: (files) => host.post({ type: 'include', files }),
  move: (files, toSplit) => host.post({ type: 'move', files, toSplit }),
  open: (file) => host.post({ type: 'openFile', file }),
  step: (delta) => {
    const at = previewList.findIndex((p) => same(p, preview.current));
    const next = previewList[at + delta];
    if (next) openPreview(next, previewList);
  },
  closed: save,
  show: (file) => {
    const image = model?.overview.images.find((i) => i.file === file);
    if (image) openPreview({ kind: 'image', image }, [{ kind: 'image', image }]);
  },
});

function same(a: PreviewItem | undefined, b: PreviewItem | undefined): boolean {
  if (!a || !b || a.kind !== b.kind) return false;
  return a.kind === 'image' ? a.image.file === (b as typeof a).image.file : a.row.stem === (b as typeof a).row.stem;
}

/** The exclusion reason written to the manifest: the image's issue kinds, else "excluded in the dataset view". */
function reasonFor(file: string): string {
  const kinds = [...new Set((model?.issuesByFile.get(file) ?? []).map((i) => i.kind))];
  return kinds.length ? kinds.join(', ') : 'excluded in the dataset view';
}

function openPreview(item: PreviewItem, list: PreviewItem[]): void {
  if (!model || !snapshot) return;
  previewList = list;
  preview.show(item, model, snapshot.baseUri, moveTargets(model));
  save();
}

/** Splits a file may be moved to: the layout's official names that exist or pair with one that does. */
function moveTargets(m: Model): string[] {
  const names = new Set(Object.keys(m.overview.splits));
  if (m.overview.layout === 'unaligned') for (const s of ['trainA', 'trainB', 'testA', 'testB']) names.add(s);
  if (m.overview.layout === 'aligned') for (const s of ['train', 'val', 'test']) names.add(s);
  // A/ and B/ of paired folders hold the two sides of each pair: moving between them would break pairs.
  if (m.overview.layout === 'single' || m.overview.layout === 'paired') return [];
  return [...names];
}

// ---- layout of the page (built once) ----
const header = el('header', 'top');
const title = el('h1', 'title');
const layoutBadge = el('vscode-badge', 'layout-badge');
const splitCounts = el('div', 'split-counts');
const status = el('div', 'status');
const rescan = el('vscode-button', 'rescan', 'Rescan');
rescan.setAttribute('secondary', '');
rescan.addEventListener('click', () => host.post({ type: 'rescan' }));
const titleRow = el('div', 'title-row');
titleRow.append(title, layoutBadge, splitCounts, status, rescan);
const progress = el('vscode-progress-bar', 'progress');
const summary = el('div', 'summary');
summary.setAttribute('role', 'toolbar');
summary.setAttribute('aria-label', 'Filter by issue kind');
const controls = el('div', 'controls');
const otherFiles = el('div', 'other-files');
header.append(titleRow, progress, summary, controls, otherFiles);
const statsBox = el('vscode-collapsible', 'stats');
statsBox.setAttribute('title', 'Domain statistics');
const statsBody = el('div', 'stats-body');
statsBox.append(statsBody);
const views = el('main', 'views');
app.append(header, statsBox, views);

function select(label: string, value: string, choices: [string, string][], onChange: (v: string) => void): HTMLElement {
  const wrap = el('label', 'control');
  wrap.append(el('span', 'control-label', label));
  const s = el('vscode-single-select');
  s.setAttribute('aria-label', label);
  for (const [v, text] of choices) {
    const o = el('vscode-option', undefined, text);
    o.setAttribute('value', v);
    if (v === value) o.setAttribute('selected', '');
    s.append(o);
  }
  s.addEventListener('change', () => onChange((s as unknown as { value: string }).value));
  wrap.append(s);
  return wrap;
}

function setOptions(patch: Partial<ViewOptions>): void {
  options = { ...options, ...patch };
  save();
  renderBody();
}

function renderHeader(): void {
  if (!snapshot) return;
  title.textContent = `Dataset: ${snapshot.name}`;
  const scanning = snapshot.scanning;
  progress.hidden = !scanning;
  status.textContent = snapshot.error ? `⚠ ${snapshot.error}` : scanning ? 'Scanning…' : model ? `${model.overview.images.length.toLocaleString()} images · scanned in ${model.overview.seconds.toFixed(1)} s` : '';
  status.classList.toggle('error', !!snapshot.error);
  if (!model) {
    layoutBadge.hidden = true;
    summary.replaceChildren();
    controls.replaceChildren();
    splitCounts.replaceChildren();
    return;
  }
  const o = model.overview;
  layoutBadge.hidden = false;
  layoutBadge.textContent = { unaligned: 'unpaired (trainA/trainB)', aligned: 'aligned A|B files', paired: 'paired folders A/ B/', single: 'single folder' }[o.layout];
  splitCounts.replaceChildren(...Object.entries(o.splits).map(([s, n]) => el('span', 'split-count', `${s} ${n.toLocaleString()}`)));
  const chip = (filter: Filter, text: string, count: number, extra = '') => {
    const b = el('button', `chip ${extra}`);
    b.type = 'button';
    b.dataset.filter = filter;
    b.setAttribute('aria-pressed', String(options.filter === filter));
    b.append(el('span', 'chip-label', text), el('span', 'chip-count', count.toLocaleString()));
    b.addEventListener('click', () => setOptions({ filter: options.filter === filter && filter !== 'all' ? 'all' : filter }));
    return b;
  };
  const withIssues = o.images.filter((i) => model!.issuesByFile.has(i.file)).length;
  summary.replaceChildren(chip('all', 'All', o.images.length), chip('issues', 'With issues', withIssues),
    ...ISSUE_KINDS.filter((k) => model!.counts[k] > 0).map((k) => chip(k, KIND_LABEL[k], model!.counts[k], `kind-${k}`)),
    chip('excluded', 'Excluded', model.excluded.size, 'excluded-chip'));
  if (snapshot.scanning) summary.append(el('span', 'all-clear', 'Checks running…'));
  else if (o.issues.length === 0) summary.append(el('span', 'all-clear', 'No issues found.'));
  const splits: [string, string][] = [['all', 'All splits'], ...Object.keys(o.splits).map((s): [string, string] => [s, s])];
  const sorts: [SortKey, string][] = [['name', 'Name'], ['size', 'Size'], ['brightness', 'Brightness'], ['score', 'Issue score']];
  controls.replaceChildren(select('Sort', options.sort, sorts, (v) => setOptions({ sort: v as SortKey })));
  if (o.layout !== 'paired' && o.layout !== 'single') controls.append(select('Split', options.split, splits, (v) => setOptions({ split: v })));
  if (options.filter !== 'all' && options.filter !== 'excluded') {
    const excludeAll = el('vscode-button', 'exclude-all', 'Exclude all shown');
    excludeAll.addEventListener('click', () => {
      const files = visibleImages(model!, options).map((i) => i.file).filter((f) => !model!.excluded.has(f));
      if (files.length) host.post({ type: 'exclude', files, reason: options.filter });
    });
    controls.append(excludeAll);
  }
  if (options.filter === 'excluded' && model.excluded.size) {
    const includeAll = el('vscode-button', 'include-all', 'Include all shown');
    includeAll.addEventListener('click', () => host.post({ type: 'include', files: [...model!.excluded].filter((f) => o.images.some((i) => i.file === f)) }));
    controls.append(includeAll);
  }
  otherFiles.hidden = model.otherFiles.length === 0;
  otherFiles.textContent = model.otherFiles.length
    ? `${model.otherFiles.length} file${model.otherFiles.length === 1 ? ' is' : 's are'} not images training reads: ${model.otherFiles.slice(0, 5).join(', ')}${model.otherFiles.length > 5 ? ', …' : ''}` : '';
}

// Grids are kept between renders so scrolling and cached thumbnails survive a filter change.
const grids = new Map<string, ThumbGrid>();
let pairList: PairList | undefined;
const cellInfo = { issues: (f: string) => model?.issuesByFile.get(f), excluded: (f: string) => !!model?.excluded.has(f) };

function column(domain: Domain | undefined, heading: string, images: DatasetImage[]): HTMLElement {
  const key = domain ?? 'all';
  let grid = grids.get(key);
  if (!grid) {
    grid = new ThumbGrid(thumbs, cellInfo, (image) => openPreview({ kind: 'image', image }, currentList(key)));
    grids.set(key, grid);
  }
  const col = el('section', 'column');
  col.dataset.domain = key;
  const h = el('h2', 'column-title', heading);
  h.append(el('span', 'shown', ` · ${images.length.toLocaleString()} shown`));
  // Moving the grid into the new column loses its scroll position: keep it unless the filter, sort or split changed.
  const keep = optionsKey === renderedKey.get(key) ? grid.scrollTop : 0;
  renderedKey.set(key, optionsKey);
  col.append(h, grid.element);
  const g = grid;
  requestAnimationFrame(() => { g.setImages(images); g.scrollTop = keep; });
  return col;
}

const lists = new Map<string, DatasetImage[]>();
/** The view options each grid was last rendered with. */
const renderedKey = new Map<string, string>();
let optionsKey = '';
function currentList(key: string): PreviewItem[] {
  return (lists.get(key) ?? []).map((image) => ({ kind: 'image', image }));
}

function renderBody(): void {
  renderHeader();
  if (!model) {
    views.replaceChildren(el('p', 'placeholder', snapshot?.error ? 'The scan failed.' : 'Scanning the dataset…'));
    return;
  }
  const o = model.overview;
  statsBody.replaceChildren();
  renderStatistics(statsBody, o.stats);
  if (o.layout === 'paired') {
    pairList ??= new PairList(thumbs, (f) => !!model?.excluded.has(f), (row) => openPreview({ kind: 'pair', row }, rows.map((r) => ({ kind: 'pair', row: r }))));
    const rows: PairRow[] = pairRows(model, options);
    const col = el('section', 'column pairs');
    const missing = rows.filter((r) => r.problem === 'missing').length;
    const mismatched = rows.filter((r) => r.problem === 'mismatch').length;
    col.append(el('h2', 'column-title', `A | B pairs · ${rows.length.toLocaleString()} shown · ${missing} missing · ${mismatched} size mismatch`), pairList.element);
    views.replaceChildren(col);
    const list = pairList;
    requestAnimationFrame(() => list.setRows(rows));
    return;
  }
  optionsKey = `${options.filter}|${options.sort}|${options.split}`;
  const domains: (Domain | undefined)[] = o.layout === 'unaligned' ? ['A', 'B'] : [undefined];
  views.replaceChildren(...domains.map((d) => {
    const images = visibleImages(model!, options, d);
    lists.set(d ?? 'all', images);
    const splitNames = Object.keys(o.splits).filter((s) => d === undefined || s.endsWith(d));
    const heading = d ? `Domain ${d} · ${splitNames.map((s) => `${s} ${o.splits[s]}`).join(' · ')}` : Object.entries(o.splits).map(([s, n]) => `${s} ${n}`).join(' · ');
    return column(d, heading, images);
  }));
}

function render(next: DatasetSnapshot): void {
  const rootChanged = snapshot?.root !== next.root;
  const overviewChanged = snapshot?.overview !== next.overview;
  snapshot = next;
  if (rootChanged) {
    const state = host.getState();
    if (state && state.root !== next.root) { options = { filter: 'all', sort: 'name', split: 'all' }; restorePreview = undefined; }
  }
  if (overviewChanged) {
    // A new listing starts a rescan: files may have moved, so thumbnails are fetched again; the scan result that follows keeps them.
    if (next.overview && next.scanning) thumbs.clear();
    model = next.overview ? buildModel(next.overview) : undefined;
    renderBody();
    if (model && preview.current) {
      const cur = preview.current;
      const file = cur.kind === 'image' ? cur.image.file : undefined;
      const image = file ? model.overview.images.find((i) => i.file === file) : undefined;
      if (image) preview.show({ kind: 'image', image }, model, next.baseUri, moveTargets(model));
      else if (cur.kind === 'pair') {
        const row = pairRows(model, { ...options, filter: 'all' }).find((r) => r.stem === cur.row.stem);
        if (row) preview.show({ kind: 'pair', row }, model, next.baseUri, moveTargets(model)); else preview.close();
      } else preview.close();
    }
    if (model && restorePreview) {
      const image = model.overview.images.find((i) => i.file === restorePreview);
      restorePreview = undefined;
      if (image) openPreview({ kind: 'image', image }, currentList(image.domain === 'AB' ? 'all' : image.domain));
    }
  } else renderHeader();
}

host.onMessage((message) => {
  switch (message.type) {
    case 'snapshot':
      render(message.snapshot);
      break;
    case 'progress':
      if (snapshot) {
        snapshot = { ...snapshot, scanning: { done: message.done, total: message.total } };
        status.textContent = `Scanning… ${message.done.toLocaleString()} / ${message.total.toLocaleString()} images`;
        progress.hidden = false;
      }
      break;
    case 'thumbnails':
      thumbs.receive(message.items);
      break;
  }
});
host.post({ type: 'ready' });
