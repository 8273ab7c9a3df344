// The comparison panel: header, virtualised input | output grid, lightbox.
// Renders whatever complete snapshot the host posts; keeps scroll position and
// the enlarged pair in the webview state so a hidden panel comes back as left.
import './compare.css';
import type { CompareHostMessage, ComparePanelMessage, CompareSnapshot } from '../../protocol/panels/compare';
import { connectToHost } from '../common/vscodeApi';
import { renderHeader } from './header';
import { Lightbox } from './lightbox';
import { VirtualGrid } from './virtualGrid';

interface PanelState {
  /** Which snapshot the state belongs to (its output folder). */
  outDir: string;
  scrollTop: number;
  open?: number;
}

const host = connectToHost<CompareHostMessage, ComparePanelMessage, PanelState>();
const header = document.getElementById('header')!;
const scroller = document.getElementById('grid')!;
const empty = document.getElementById('empty')!;
let snapshot: CompareSnapshot | undefined;
let state: PanelState | undefined = host.getState();

function save(patch: Partial<PanelState>): void {
  if (!snapshot) return;
  state = { outDir: snapshot.outDir, scrollTop: scroller.scrollTop, open: lightbox.current, ...patch };
  host.setState(state);
}

const grid = new VirtualGrid(scroller, (index) => lightbox.show(index), (scrollTop) => save({ scrollTop }));
const lightbox = new Lightbox(document.body, {
  onChange: (index) => {
    if (index !== undefined) grid.reveal(index);
    save({ open: index });
  },
  onOpenImage: (index, side) => host.post({ type: 'openImage', index, side }),
});

function render(next: CompareSnapshot): void {
  const restore = state && state.outDir === next.outDir ? state : undefined;
  snapshot = next;
  document.title = next.title;
  renderHeader(header, next, () => host.post({ type: 'revealOutput' }));
  empty.hidden = next.pairs.length > 0;
  grid.setPairs(next.pairs);
  lightbox.setPairs(next.pairs);
  grid.scrollTo(restore?.scrollTop ?? 0);
  lightbox.show(restore?.open);
}

// The host re-posts the snapshot whenever the panel shows again; an
// unchanged one needs no re-render.
let rendered = '';
host.onMessage((message) => {
  if (message.type !== 'snapshot') return;
  const json = JSON.stringify(message.snapshot);
  if (json === rendered) return;
  rendered = json;
  render(message.snapshot);
});
host.post({ type: 'ready' });
