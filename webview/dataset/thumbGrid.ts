// A grid of image thumbnails that keeps only the visible cells in the DOM, so
// 10,000 images scroll smoothly; cells are absolutely placed by transform.
import type { DatasetImage, DatasetIssue } from '../../protocol/dataset';
import type { ThumbnailCache } from './thumbnails';
import { KIND_LABEL } from './viewModel';

const CELL = 132;
const THUMB = 120;
const LABEL = 34;
const GAP = 8;
const OVERSCAN_ROWS = 2;

export interface CellInfo {
  issues: (file: string) => DatasetIssue[] | undefined;
  excluded: (file: string) => boolean;
}

export class ThumbGrid {
  readonly element = document.createElement('div');
  private readonly sizer = document.createElement('div');
  private readonly cells = new Map<number, HTMLElement>();
  private images: DatasetImage[] = [];
  private columns = 1;
  private frame = 0;

  constructor(private readonly thumbs: ThumbnailCache, private readonly info: CellInfo, private readonly onOpen: (image: DatasetImage) => void) {
    this.element.className = 'thumb-grid';
    this.sizer.className = 'grid-sizer';
    this.element.append(this.sizer);
    this.element.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.layout()).observe(this.element);
    this.sizer.addEventListener('click', (e) => this.openFrom(e.target));
    this.sizer.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.openFrom(e.target); }
    });
    thumbs.onReceive((files) => {
      for (const cell of this.cells.values()) if (files.has(cell.dataset.file!)) this.fillThumb(cell);
    });
  }

  setImages(images: DatasetImage[]): void {
    this.images = images;
    for (const cell of this.cells.values()) cell.remove();
    this.cells.clear();
    this.layout();
  }

  get scrollTop(): number { return this.element.scrollTop; }
  set scrollTop(v: number) { this.element.scrollTop = v; this.render(); }

  private openFrom(target: EventTarget | null): void {
    const cell = target instanceof Element ? target.closest<HTMLElement>('.cell') : null;
    if (cell?.dataset.index) this.onOpen(this.images[Number(cell.dataset.index)]!);
  }

  private layout(): void {
    const width = Math.max(this.element.clientWidth - GAP, CELL);
    this.columns = Math.max(1, Math.floor(width / (CELL + GAP)));
    const rows = Math.ceil(this.images.length / this.columns);
    this.sizer.style.height = `${rows * (CELL + LABEL + GAP) + GAP}px`;
    for (const [index, cell] of this.cells) this.place(cell, index);
    this.render();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  private render(): void {
    const rowHeight = CELL + LABEL + GAP;
    const top = this.element.scrollTop;
    const first = Math.max(0, Math.floor(top / rowHeight) - OVERSCAN_ROWS) * this.columns;
    const last = Math.min(this.images.length, (Math.ceil((top + this.element.clientHeight) / rowHeight) + OVERSCAN_ROWS) * this.columns);
    for (const [index, cell] of this.cells) if (index < first || index >= last) { cell.remove(); this.cells.delete(index); }
    const wanted: string[] = [];
    for (let index = first; index < last; index++) {
      if (this.cells.has(index)) continue;
      const cell = this.createCell(index);
      this.place(cell, index);
      this.cells.set(index, cell);
      this.sizer.append(cell);
      if (!this.thumbs.get(this.images[index]!.file)) wanted.push(this.images[index]!.file);
    }
    this.thumbs.want(wanted);
  }

  private place(cell: HTMLElement, index: number): void {
    const x = GAP + (index % this.columns) * (CELL + GAP);
    const y = GAP + Math.floor(index / this.columns) * (CELL + LABEL + GAP);
    cell.style.transform = `translate(${x}px, ${y}px)`;
  }

  private createCell(index: number): HTMLElement {
    const image = this.images[index]!;
    const issues = this.info.issues(image.file) ?? [];
    const cell = document.createElement('div');
    cell.className = 'cell';
    cell.tabIndex = 0;
    cell.setAttribute('role', 'button');
    cell.dataset.index = String(index);
    cell.dataset.file = image.file;
    cell.classList.toggle('excluded', this.info.excluded(image.file));
    cell.classList.toggle('has-issues', issues.length > 0);
    const name = image.file.slice(image.file.lastIndexOf('/') + 1);
    cell.title = `${image.file}${image.width ? ` · ${image.width}×${image.height}` : ''}` +
      (issues.length ? `\n${issues.map((i) => `${KIND_LABEL[i.kind]}: ${i.detail.message}`).join('\n')}` : '') +
      (this.info.excluded(image.file) ? '\nexcluded from training' : '');
    const frame = document.createElement('div');
    frame.className = 'thumb';
    frame.style.width = frame.style.height = `${THUMB}px`;
    const label = document.createElement('div');
    label.className = 'label';
    const text = document.createElement('span');
    text.className = 'name';
    text.textContent = name;
    const badges = document.createElement('span');
    badges.className = 'badges';
    for (const kind of new Set(issues.map((i) => i.kind))) {
      const b = document.createElement('span');
      b.className = `badge kind-${kind}`;
      b.textContent = KIND_LABEL[kind];
      badges.append(b);
    }
    label.append(text, badges);
    cell.append(frame, label);
    this.fillThumb(cell);
    return cell;
  }

  private fillThumb(cell: HTMLElement): void {
    const frame = cell.querySelector<HTMLElement>('.thumb')!;
    const t = this.thumbs.get(cell.dataset.file!);
    if (!t || frame.dataset.filled) return;
    frame.dataset.filled = '1';
    if (t.src) {
      const img = document.createElement('img');
      img.alt = cell.dataset.file!;
      img.decoding = 'async';
      img.src = t.src;
      frame.append(img);
    } else {
      frame.classList.add('broken');
      frame.textContent = t.error ?? 'no preview';
    }
  }
}
