// Paired A/ B/ folders as rows of A | B thumbnails, virtualised like the grid;
// a missing partner or a size mismatch is highlighted on its row.
import type { DatasetImage } from '../../protocol/dataset';
import type { ThumbnailCache } from './thumbnails';
import type { PairRow } from './viewModel';

const THUMB = 120;
const ROW = THUMB + 16;
const OVERSCAN = 3;

export class PairList {
  readonly element = document.createElement('div');
  private readonly sizer = document.createElement('div');
  private readonly rows = new Map<number, HTMLElement>();
  private items: PairRow[] = [];
  private frame = 0;

  constructor(private readonly thumbs: ThumbnailCache, private readonly excluded: (file: string) => boolean,
    private readonly onOpen: (row: PairRow) => void) {
    this.element.className = 'pair-list';
    this.sizer.className = 'grid-sizer';
    this.element.append(this.sizer);
    this.element.addEventListener('scroll', () => {
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
    }, { passive: true });
    new ResizeObserver(() => this.render()).observe(this.element);
    this.sizer.addEventListener('click', (e) => {
      const row = e.target instanceof Element ? e.target.closest<HTMLElement>('.pair-row') : null;
      if (row?.dataset.index) this.onOpen(this.items[Number(row.dataset.index)]!);
    });
    thumbs.onReceive((files) => {
      for (const row of this.rows.values()) for (const slot of row.querySelectorAll<HTMLElement>('.thumb[data-file]')) if (files.has(slot.dataset.file!)) this.fill(slot);
    });
  }

  setRows(items: PairRow[]): void {
    this.items = items;
    for (const r of this.rows.values()) r.remove();
    this.rows.clear();
    this.sizer.style.height = `${items.length * ROW}px`;
    this.render();
  }

  private render(): void {
    const first = Math.max(0, Math.floor(this.element.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(this.items.length, Math.ceil((this.element.scrollTop + this.element.clientHeight) / ROW) + OVERSCAN);
    for (const [i, r] of this.rows) if (i < first || i >= last) { r.remove(); this.rows.delete(i); }
    const wanted: string[] = [];
    for (let i = first; i < last; i++) {
      if (this.rows.has(i)) continue;
      const row = this.create(i);
      row.style.transform = `translateY(${i * ROW}px)`;
      this.rows.set(i, row);
      this.sizer.append(row);
      for (const img of [this.items[i]!.a, this.items[i]!.b]) if (img && !this.thumbs.get(img.file)) wanted.push(img.file);
    }
    this.thumbs.want(wanted);
  }

  private slot(img: DatasetImage | undefined, side: string): HTMLElement {
    const slot = document.createElement('div');
    slot.className = 'thumb';
    slot.style.width = slot.style.height = `${THUMB}px`;
    if (!img) {
      slot.classList.add('missing');
      slot.textContent = `no ${side} image`;
      return slot;
    }
    slot.dataset.file = img.file;
    slot.classList.toggle('excluded', this.excluded(img.file));
    this.fill(slot);
    return slot;
  }

  private fill(slot: HTMLElement): void {
    const t = this.thumbs.get(slot.dataset.file!);
    if (!t || slot.dataset.filled) return;
    slot.dataset.filled = '1';
    if (t.src) {
      const img = document.createElement('img');
      img.alt = slot.dataset.file!;
      img.src = t.src;
      slot.append(img);
    } else {
      slot.classList.add('broken');
      slot.textContent = t.error ?? 'no preview';
    }
  }

  private create(index: number): HTMLElement {
    const item = this.items[index]!;
    const row = document.createElement('div');
    row.className = `pair-row${item.problem ? ` problem-${item.problem}` : ''}`;
    row.dataset.index = String(index);
    row.tabIndex = 0;
    row.setAttribute('role', 'button');
    const info = document.createElement('div');
    info.className = 'pair-info';
    const stem = document.createElement('div');
    stem.className = 'name';
    stem.textContent = item.stem;
    info.append(stem);
    const sizes = [item.a, item.b].map((i) => (i?.width ? `${i.width}×${i.height}` : '—')).join(' | ');
    const detail = document.createElement('div');
    detail.className = 'detail';
    detail.textContent = item.problem === 'missing' ? `missing ${item.a ? 'B' : 'A'}` : item.problem === 'mismatch' ? `size mismatch: ${sizes}` : sizes;
    info.append(detail);
    row.append(this.slot(item.a, 'A'), this.slot(item.b, 'B'), info);
    return row;
  }
}
