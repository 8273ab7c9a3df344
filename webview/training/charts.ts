// One uPlot chart per loss group, coloured from VS Code's chart palette so it
// follows the theme. Data is replaced whole on every snapshot (uPlot redraws
// thousands of points in a few milliseconds); a theme change rebuilds the plot.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];
/** Whole steps on the x axis (uPlot would otherwise tick 0.25, 0.5… on short runs). */
const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000, 200000, 500000];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export interface ChartSpec {
  title: string;
  names: string[];
  /** Axis label of y. */
  unit?: string;
  /** Plot y on a log scale (losses spanning orders of magnitude). */
  log?: boolean;
}

export class Chart {
  readonly element: HTMLElement;
  private plot: uPlot | undefined;
  private data: uPlot.AlignedData = [[]];
  private readonly body: HTMLElement;

  constructor(readonly spec: ChartSpec) {
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    const caption = document.createElement('figcaption');
    caption.textContent = spec.title;
    this.body = document.createElement('div');
    this.body.className = 'chart-body';
    this.element.append(caption, this.body);
  }

  private build(): void {
    this.plot?.destroy();
    const fg = cssVar('--vscode-descriptionForeground', '#999');
    const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
    const axis: uPlot.Axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: `11px ${cssVar('--vscode-font-family', 'sans-serif')}` };
    this.plot = new uPlot({
      width: Math.max(200, this.body.clientWidth),
      height: 170,
      scales: { x: { time: false }, y: this.spec.log ? { distr: 3 } : {} },
      axes: [{ ...axis, size: 30, label: 'step', labelSize: 14, labelFont: axis.font, incrs: STEP_INCREMENTS }, { ...axis, size: 50, label: this.spec.unit, labelSize: this.spec.unit ? 14 : 0, labelFont: axis.font }],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: 'step' },
        ...this.spec.names.map((name, i) => ({
          label: name,
          stroke: cssVar(PALETTE[i % PALETTE.length]!, FALLBACK[i % FALLBACK.length]!),
          width: 1.5,
          spanGaps: true,
          // Dots only while the line is sparse (a run's first records), as uPlot decides by density.
          points: { size: 5 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : v.toPrecision(4)),
        })),
      ],
    }, this.data, this.body);
  }

  setData(data: uPlot.AlignedData): void {
    this.data = data;
    if (!this.plot) this.build();
    else this.plot.setData(data);
  }

  /** Theme changed: rebuild with the new colours. */
  restyle(): void {
    if (this.plot) this.build();
  }

  resize(): void {
    if (this.plot) this.plot.setSize({ width: Math.max(200, this.body.clientWidth), height: 170 });
  }

  destroy(): void {
    this.plot?.destroy();
    this.element.remove();
  }
}
