// Domain statistics as small canvas plots, in the theme's chart colours:
// colour histogram (R, G, B lines), brightness distribution (bars), sizes.
import type { DomainStatistics } from '../../protocol/dataset';

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function canvas(width: number, height: number, label: string): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const c = document.createElement('canvas');
  const ratio = window.devicePixelRatio || 1;
  c.width = width * ratio;
  c.height = height * ratio;
  c.style.width = `${width}px`;
  c.style.height = `${height}px`;
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', label);
  const ctx = c.getContext('2d')!;
  ctx.scale(ratio, ratio);
  return [c, ctx];
}

function histogramPlot(s: DomainStatistics, w: number, h: number): HTMLCanvasElement {
  const [c, ctx] = canvas(w, h, `colour histogram of domain ${s.domain}`);
  const max = Math.max(...s.histogram.r, ...s.histogram.g, ...s.histogram.b, 1e-9);
  ctx.strokeStyle = cssVar('--vscode-charts-lines', '#8888');
  ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  for (const [key, colour] of [['r', cssVar('--vscode-charts-red', '#f14c4c')], ['g', cssVar('--vscode-charts-green', '#89d185')], ['b', cssVar('--vscode-charts-blue', '#3794ff')]] as const) {
    const values = s.histogram[key];
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = 2 + ((w - 4) * (i + 0.5)) / values.length;
      const y = h - 2 - ((h - 4) * v) / max;
      if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    });
    ctx.stroke();
  }
  return c;
}

function brightnessPlot(s: DomainStatistics, w: number, h: number): HTMLCanvasElement {
  const [c, ctx] = canvas(w, h, `brightness distribution of domain ${s.domain}`);
  const max = Math.max(...s.brightness, 1);
  ctx.strokeStyle = cssVar('--vscode-charts-lines', '#8888');
  ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  ctx.fillStyle = cssVar('--vscode-charts-yellow', '#cca700');
  const bw = (w - 4) / s.brightness.length;
  s.brightness.forEach((v, i) => {
    const bh = ((h - 4) * v) / max;
    ctx.fillRect(2 + i * bw + 1, h - 2 - bh, bw - 2, bh);
  });
  return c;
}

export function renderStatistics(parent: HTMLElement, stats: DomainStatistics[]): void {
  parent.replaceChildren();
  for (const s of stats) {
    const card = document.createElement('section');
    card.className = 'stats-card';
    const title = document.createElement('h3');
    title.textContent = `Domain ${s.domain} · ${s.images.toLocaleString()} images`;
    const plots = document.createElement('div');
    plots.className = 'plots';
    const figure = (caption: string, child: HTMLElement) => {
      const f = document.createElement('figure');
      const cap = document.createElement('figcaption');
      cap.textContent = caption;
      f.append(child, cap);
      return f;
    };
    const sizes = document.createElement('ol');
    sizes.className = 'sizes';
    for (const z of s.sizes.slice(0, 5)) {
      const li = document.createElement('li');
      li.textContent = `${z.width}×${z.height}: ${z.count.toLocaleString()}`;
      sizes.append(li);
    }
    if (s.sizes.length > 5) {
      const li = document.createElement('li');
      li.textContent = `…${s.sizes.length - 5} more sizes`;
      sizes.append(li);
    }
    plots.append(figure('Colour histogram (R, G, B)', histogramPlot(s, 220, 90)), figure('Mean brightness, dark → light', brightnessPlot(s, 220, 90)),
      figure('Sizes', sizes));
    card.append(title, plots);
    parent.append(card);
  }
}
