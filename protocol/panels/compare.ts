// Messages of the comparison panel (input | output grid after a translation).
// The host always posts a complete snapshot, never a delta, so a panel that
// was hidden and restored shows the same state.

export interface ComparePair {
  name: string;
  /** webview URIs, already converted by the host */
  input: string;
  output: string;
  width: number;
  height: number;
}

export interface CompareSnapshot {
  title: string;
  model: string;
  backend: string;
  outDir: string;
  pairs: ComparePair[];
  unreadable: { name: string; reason: string }[];
  nonImages: number;
  cancelled: boolean;
  seconds: number;
  imagesPerSecond: number;
}

// host → panel: the whole state to render.
export interface SnapshotMessage { type: 'snapshot'; snapshot: CompareSnapshot }
export type CompareHostMessage = SnapshotMessage;

// panel → host: the panel has loaded and wants a snapshot.
export interface ReadyMessage { type: 'ready' }
// panel → host: reveal the output folder in the explorer.
export interface RevealOutputMessage { type: 'revealOutput' }
// panel → host: open one output image in an editor tab.
export interface OpenImageMessage { type: 'openImage'; index: number; side: 'input' | 'output' }
export type ComparePanelMessage = ReadyMessage | RevealOutputMessage | OpenImageMessage;
