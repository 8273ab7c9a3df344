// The summary above the grid: model, backend, counts, speed, the output
// folder with a Reveal button, and the unreadable files with their reasons.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import type { CompareSnapshot } from '../../protocol/panels/compare';

export function renderHeader(root: HTMLElement, s: CompareSnapshot, onReveal: () => void): void {
  const title = el('h1', 'title', s.title);
  const facts = el('div', 'facts');
  facts.append(
    fact('Model', s.model),
    fact('Backend', s.backend),
    fact('Speed', `${s.imagesPerSecond.toFixed(1)} images/s · ${s.seconds.toFixed(1)} s`),
  );
  const counts = el('div', 'counts');
  counts.append(badge(`${s.pairs.length} translated`, 'translated'));
  if (s.unreadable.length) counts.append(badge(`${s.unreadable.length} unreadable`, 'unreadable'));
  if (s.nonImages) counts.append(badge(`${s.nonImages} non-image${s.nonImages === 1 ? '' : 's'} skipped`, 'non-images'));
  if (s.cancelled) counts.append(badge('cancelled', 'cancelled'));
  const out = el('div', 'out');
  const reveal = document.createElement('vscode-button');
  reveal.textContent = 'Reveal in Explorer';
  reveal.secondary = true;
  reveal.dataset.action = 'reveal';
  reveal.addEventListener('click', onReveal);
  out.append(el('span', 'fact-label', 'Output'), el('code', 'out-dir', s.outDir), reveal);
  counts.append(el('span', 'hint', 'each pair: input | output · click to enlarge'));
  root.replaceChildren(title, facts, counts, out);
  if (s.unreadable.length) root.append(unreadableList(s));
}

function unreadableList(s: CompareSnapshot): HTMLElement {
  const section = document.createElement('vscode-collapsible');
  section.className = 'unreadable';
  section.heading = `Unreadable files (${s.unreadable.length})`;
  section.open = s.pairs.length === 0;
  const list = el('ul', 'unreadable-list');
  for (const u of s.unreadable) {
    const item = el('li', '');
    item.append(el('code', '', u.name), document.createTextNode(` — ${u.reason}`));
    list.append(item);
  }
  section.append(list);
  return section;
}

function fact(label: string, value: string): HTMLElement {
  const f = el('span', 'fact');
  f.append(el('span', 'fact-label', label), el('span', 'fact-value', value));
  return f;
}

function badge(text: string, kind: string): HTMLElement {
  const b = document.createElement('vscode-badge');
  b.textContent = text;
  b.dataset.kind = kind;
  return b;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
