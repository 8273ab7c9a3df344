// The large preview: one image with its metadata and issues, or an A | B pair
// (paired folders, or the halves of an aligned file) with side-by-side,
// overlay and blink compare. Exclude/include and move act from here.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { DatasetImage } from '../../protocol/dataset';
import { fileUri, KIND_LABEL, type Model, type PairRow } from './viewModel';

export type PreviewItem = { kind: 'image'; image: DatasetImage } | { kind: 'pair'; row: PairRow };
type CompareMode = 'side' | 'overlay' | 'blink';

export interface PreviewActions {
  exclude(files: string[]): void;
  include(files: string[]): void;
  move(files: string[], toSplit: string): void;
  open(file: string): void;
  /** Step to the previous (-1) or next (+1) item of the current list. */
  step(delta: number): void;
  closed(): void;
  /** Show another file (e.g. the original of a duplicate). */
  show(file: string): void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class Preview {
  private readonly root = el('div', 'preview');
  private blinkTimer = 0;
  private mode: CompareMode = 'side';
  current?: PreviewItem;

  constructor(parent: HTMLElement, private readonly actions: PreviewActions) {
    this.root.hidden = true;
    this.root.setAttribute('role', 'dialog');
    this.root.setAttribute('aria-modal', 'true');
    parent.append(this.root);
    this.root.addEventListener('click', (e) => { if (e.target === this.root) this.close(); });
    document.addEventListener('keydown', (e) => {
      if (this.root.hidden) return;
      if (e.key === 'Escape') this.close();
      else if (e.key === 'ArrowRight') this.actions.step(1);
      else if (e.key === 'ArrowLeft') this.actions.step(-1);
    });
  }

  close(): void {
    window.clearInterval(this.blinkTimer);
    this.root.hidden = true;
    this.current = undefined;
    this.actions.closed();
  }

  show(item: PreviewItem, model: Model, baseUri: string, splits: string[]): void {
    window.clearInterval(this.blinkTimer);
    this.current = item;
    this.root.replaceChildren();
    this.root.hidden = false;
    const box = el('div', 'preview-box');
    const head = el('div', 'preview-head');
    const title = el('h2', 'preview-title', item.kind === 'image' ? item.image.file : `${item.row.stem}  (A | B)`);
    const close = el('vscode-button', 'preview-close', 'Close');
    close.setAttribute('secondary', '');
    close.addEventListener('click', () => this.close());
    head.append(title, close);
    box.append(head);
    const images = item.kind === 'image' ? [item.image] : [item.row.a, item.row.b].filter((i): i is DatasetImage => !!i);
    if (item.kind === 'pair' || item.image.domain === 'AB') box.append(this.compare(item, baseUri));
    else {
      const img = el('img', 'preview-image');
      img.alt = item.image.file;
      img.src = fileUri(baseUri, item.image.file);
      box.append(img);
    }
    for (const image of images) box.append(this.details(image, model, splits));
    this.root.append(box);
    close.focus();
  }

  private compare(item: PreviewItem, baseUri: string): HTMLElement {
    const wrap = el('div', 'compare');
    const bar = el('div', 'compare-modes');
    const stage = el('div', 'compare-stage');
    // Two layers: A then B — separate files, or the left and right halves of one aligned file.
    const layer = (side: 'A' | 'B') => {
      const d = el('div', `layer layer-${side}`);
      const file = item.kind === 'pair' ? (side === 'A' ? item.row.a : item.row.b)?.file : item.image.file;
      if (!file) { d.classList.add('missing'); d.textContent = `no ${side} image`; return d; }
      d.style.backgroundImage = `url("${fileUri(baseUri, file)}")`;
      if (item.kind === 'image') { d.style.backgroundSize = '200% 100%'; d.style.backgroundPosition = side === 'A' ? 'left center' : 'right center'; }
      d.setAttribute('aria-label', `${side}: ${file}`);
      return d;
    };
    const a = layer('A');
    const b = layer('B');
    stage.append(a, b);
    const slider = el('input', 'overlay-opacity');
    slider.type = 'range';
    slider.min = '0';
    slider.max = '100';
    slider.value = '50';
    slider.title = 'B opacity';
    slider.addEventListener('input', () => { b.style.opacity = String(Number(slider.value) / 100); });
    const apply = (mode: CompareMode) => {
      this.mode = mode;
      window.clearInterval(this.blinkTimer);
      stage.dataset.mode = mode;
      slider.hidden = mode !== 'overlay';
      b.style.opacity = mode === 'overlay' ? String(Number(slider.value) / 100) : '1';
      if (mode === 'blink') {
        let showB = false;
        this.blinkTimer = window.setInterval(() => { showB = !showB; b.style.opacity = showB ? '1' : '0'; }, 600);
      }
      for (const btn of bar.querySelectorAll<HTMLElement>('vscode-button[data-mode]')) {
        if (btn.dataset.mode === mode) btn.removeAttribute('secondary'); else btn.setAttribute('secondary', '');
      }
    };
    for (const [mode, label] of [['side', 'Side by side'], ['overlay', 'Overlay'], ['blink', 'Blink']] as const) {
      const btn = el('vscode-button', undefined, label);
      btn.dataset.mode = mode;
      btn.addEventListener('click', () => apply(mode));
      bar.append(btn);
    }
    bar.append(slider);
    wrap.append(bar, stage);
    apply(this.mode);
    return wrap;
  }

  private details(image: DatasetImage, model: Model, splits: string[]): HTMLElement {
    const d = el('div', 'preview-details');
    const excluded = model.excluded.has(image.file);
    const facts = el('dl', 'facts');
    const fact = (k: string, v: string) => { facts.append(el('dt', undefined, k), el('dd', undefined, v)); };
    fact('File', image.file);
    fact('Split', `${image.split} (domain ${image.domain})`);
    fact('Size', image.width ? `${image.width}×${image.height} px` : 'unreadable');
    if (image.format) fact('Format', image.format);
    if (image.bytes !== undefined) fact('Bytes', image.bytes.toLocaleString());
    if (image.brightness !== undefined) fact('Brightness', image.brightness.toFixed(3));
    fact('Training', excluded ? `excluded (${model.overview.excluded.find((e) => e.file === image.file)?.reason ?? ''})` : 'included');
    d.append(facts);
    const issues = model.issuesByFile.get(image.file) ?? [];
    if (issues.length) {
      const list = el('ul', 'issue-list');
      for (const issue of issues) {
        const li = el('li', `kind-${issue.kind}`);
        li.append(el('strong', undefined, `${KIND_LABEL[issue.kind]}: `), document.createTextNode(issue.detail.message));
        if (issue.detail.other) {
          const link = el('a', 'other', ` show ${issue.detail.other}`);
          link.href = '#';
          link.addEventListener('click', (e) => { e.preventDefault(); this.actions.show(issue.detail.other!); });
          li.append(link);
        }
        list.append(li);
      }
      d.append(list);
    } else d.append(el('p', 'no-issues', 'No issues found.'));
    const actions = el('div', 'preview-actions');
    const toggle = el('vscode-button', 'exclude-toggle', excluded ? 'Include in training' : 'Exclude from training');
    toggle.addEventListener('click', () => (excluded ? this.actions.include([image.file]) : this.actions.exclude([image.file])));
    const open = el('vscode-button', undefined, 'Open');
    open.setAttribute('secondary', '');
    open.addEventListener('click', () => this.actions.open(image.file));
    actions.append(toggle, open);
    const targets = splits.filter((s) => s !== image.split);
    if (targets.length) {
      const select = el('vscode-single-select', 'move-select');
      select.setAttribute('aria-label', 'Move to split');
      const placeholder = el('vscode-option', undefined, 'Move to…');
      placeholder.setAttribute('value', '');
      select.append(placeholder);
      for (const s of targets) {
        const o = el('vscode-option', undefined, `${s}/`);
        o.setAttribute('value', s);
        select.append(o);
      }
      select.addEventListener('change', () => {
        const value = (select as unknown as { value: string }).value;
        if (value) this.actions.move([image.file], value);
      });
      actions.append(select);
    }
    d.append(actions);
    return d;
  }
}
