// A grid of input | output pairs that keeps only the visible rows in the DOM,
// so a folder of 5,000 images scrolls as fast as one of 10. Rows have a fixed
// height computed from the width; cards are positioned with transforms.
import type { ComparePair } from '../../protocol/panels/compare';

const MIN_CARD_WIDTH = 300;
const GAP = 12;
const LABEL_HEIGHT = 22;
const OVERSCAN_ROWS = 2;

export class VirtualGrid {
  private readonly sizer = document.createElement('div');
  private readonly cards = new Map<number, HTMLElement>();
  private pairs: ComparePair[] = [];
  private columns = 1;
  private cardWidth = MIN_CARD_WIDTH;
  private rowHeight = MIN_CARD_WIDTH / 2 + LABEL_HEIGHT + GAP;
  private frame = 0;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly onOpen: (index: number) => void,
    private readonly onScrolled: (scrollTop: number) => void,
  ) {
    this.sizer.className = 'grid-sizer';
    scroller.append(this.sizer);
    scroller.addEventListener('scroll', () => {
      this.schedule();
      this.onScrolled(scroller.scrollTop);
    }, { passive: true });
    new ResizeObserver(() => this.layout()).observe(scroller);
    this.sizer.addEventListener('click', (e) => this.openFrom(e.target));
    this.sizer.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.openFrom(e.target); }
    });
  }

  setPairs(pairs: ComparePair[]): void {
    this.pairs = pairs;
    for (const card of this.cards.values()) card.remove();
    this.cards.clear();
    this.layout();
  }

  scrollTo(scrollTop: number): void {
    this.scroller.scrollTop = scrollTop;
    this.render();
  }

  /** Scrolls so that pair `index` is visible (used when the lightbox moves). */
  reveal(index: number): void {
    const top = Math.floor(index / this.columns) * this.rowHeight;
    if (top < this.scroller.scrollTop || top + this.rowHeight > this.scroller.scrollTop + this.scroller.clientHeight) {
      this.scrollTo(Math.max(0, top - GAP));
    }
  }

  private openFrom(target: EventTarget | null): void {
    const card = target instanceof Element ? target.closest<HTMLElement>('.pair') : null;
    if (card?.dataset.index) this.onOpen(Number(card.dataset.index));
  }

  private layout(): void {
    const width = Math.max(this.scroller.clientWidth - 2 * GAP, 1);
    this.columns = Math.max(1, Math.floor((width + GAP) / (MIN_CARD_WIDTH + GAP)));
    this.cardWidth = (width - GAP * (this.columns - 1)) / this.columns;
    const thumb = (this.cardWidth - 4) / 2;
    this.rowHeight = Math.round(thumb + LABEL_HEIGHT + GAP);
    const rows = Math.ceil(this.pairs.length / this.columns);
    this.sizer.style.height = `${rows * this.rowHeight + GAP}px`;
    for (const [index, card] of this.cards) this.place(card, index);
    this.render();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  private render(): void {
    const top = this.scroller.scrollTop;
    const firstRow = Math.max(0, Math.floor(top / this.rowHeight) - OVERSCAN_ROWS);
    const lastRow = Math.ceil((top + this.scroller.clientHeight) / this.rowHeight) + OVERSCAN_ROWS;
    const first = firstRow * this.columns;
    const last = Math.min(this.pairs.length, (lastRow + 1) * this.columns);
    for (const [index, card] of this.cards) {
      if (index < first || index >= last) { card.remove(); this.cards.delete(index); }
    }
    for (let index = first; index < last; index++) {
      if (this.cards.has(index)) continue;
      const card = this.createCard(index);
      this.place(card, index);
      this.cards.set(index, card);
      this.sizer.append(card);
    }
  }

  private place(card: HTMLElement, index: number): void {
    const x = GAP + (index % this.columns) * (this.cardWidth + GAP);
    const y = GAP + Math.floor(index / this.columns) * this.rowHeight;
    card.style.transform = `translate(${x}px, ${y}px)`;
    card.style.width = `${this.cardWidth}px`;
    card.style.height = `${this.rowHeight - GAP}px`;
  }

  private createCard(index: number): HTMLElement {
    const pair = this.pairs[index]!;
    const card = document.createElement('div');
    card.className = 'pair';
    card.tabIndex = 0;
    card.dataset.index = String(index);
    card.setAttribute('role', 'button');
    card.setAttribute('aria-label', `${pair.name}: enlarge`);
    card.title = `${pair.name} (${pair.width}×${pair.height}) — click to enlarge`;
    const thumbs = document.createElement('div');
    thumbs.className = 'thumbs';
    thumbs.append(thumbnail(pair.input, `${pair.name} input`), thumbnail(pair.output, `${pair.name} output`));
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = pair.name;
    card.append(thumbs, name);
    return card;
  }
}

function thumbnail(src: string, alt: string): HTMLImageElement {
  const img = document.createElement('img');
  img.loading = 'lazy';
  img.decoding = 'async';
  img.alt = alt;
  img.src = src;
  return img;
}
