// One pair enlarged over the grid: input and output side by side, arrows
// for previous / next, Esc or a click on the backdrop closes.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { ComparePair } from '../../protocol/panels/compare';

export interface LightboxActions {
  onChange(index: number | undefined): void;
  onOpenImage(index: number, side: 'input' | 'output'): void;
}

export class Lightbox {
  private readonly root = document.createElement('div');
  private readonly title = document.createElement('span');
  private readonly position = document.createElement('span');
  private readonly input = document.createElement('img');
  private readonly output = document.createElement('img');
  private pairs: ComparePair[] = [];
  private index: number | undefined;

  constructor(parent: HTMLElement, private readonly actions: LightboxActions) {
    this.root.className = 'lightbox';
    this.root.hidden = true;
    this.root.setAttribute('role', 'dialog');
    this.root.setAttribute('aria-modal', 'true');
    const bar = document.createElement('div');
    bar.className = 'lightbox-bar';
    this.title.className = 'lightbox-title';
    this.position.className = 'lightbox-position';
    const spacer = document.createElement('span');
    spacer.className = 'spacer';
    bar.append(this.title, this.position, spacer,
      button('‹ Previous', 'prev', () => this.step(-1), true),
      button('Next ›', 'next', () => this.step(1), true),
      button('Open input', 'open-input', () => this.openImage('input'), true),
      button('Open output', 'open-output', () => this.openImage('output'), true),
      button('Close', 'close', () => this.show(undefined), false));
    const images = document.createElement('div');
    images.className = 'lightbox-images';
    images.append(figure(this.input, 'Input'), figure(this.output, 'Output'));
    this.root.append(bar, images);
    this.root.addEventListener('click', (e) => { if (e.target === images) this.show(undefined); });
    document.addEventListener('keydown', (e) => {
      if (this.index === undefined) return;
      if (e.key === 'Escape') this.show(undefined);
      else if (e.key === 'ArrowRight') this.step(1);
      else if (e.key === 'ArrowLeft') this.step(-1);
      else return;
      e.preventDefault();
    });
    parent.append(this.root);
  }

  setPairs(pairs: ComparePair[]): void {
    this.pairs = pairs;
    if (this.index !== undefined && this.index >= pairs.length) this.show(undefined);
    else if (this.index !== undefined) this.show(this.index);
  }

  get current(): number | undefined { return this.index; }

  show(index: number | undefined): void {
    const pair = index === undefined ? undefined : this.pairs[index];
    this.index = pair ? index : undefined;
    this.root.hidden = !pair;
    if (pair && index !== undefined) {
      this.title.textContent = pair.name;
      this.position.textContent = `${index + 1} / ${this.pairs.length} · ${pair.width}×${pair.height}`;
      this.input.src = pair.input;
      this.input.alt = `${pair.name} input`;
      this.output.src = pair.output;
      this.output.alt = `${pair.name} output`;
      this.root.querySelector<HTMLElement>('[data-action="close"]')?.focus();
    }
    this.actions.onChange(this.index);
  }

  private step(delta: number): void {
    if (this.index === undefined || this.pairs.length === 0) return;
    this.show((this.index + delta + this.pairs.length) % this.pairs.length);
  }

  private openImage(side: 'input' | 'output'): void {
    if (this.index !== undefined) this.actions.onOpenImage(this.index, side);
  }
}

function button(label: string, action: string, run: () => void, secondary: boolean): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.dataset.action = action;
  b.secondary = secondary;
  b.addEventListener('click', run);
  return b;
}

function figure(img: HTMLImageElement, caption: string): HTMLElement {
  const f = document.createElement('figure');
  const c = document.createElement('figcaption');
  c.textContent = caption;
  f.append(c, img);
  return f;
}
