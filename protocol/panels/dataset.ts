// Messages of the dataset view. The host always posts a complete snapshot
// (never a delta), so a panel that was hidden and restored shows the same
// state; thumbnails are a cache fill the panel asks for as it scrolls.
import type { DatasetOverview } from '../dataset';

export interface DatasetSnapshot {
  /** Folder name shown as the title. */
  name: string;
  root: string;
  /** Webview URI of the dataset folder; an image is `${baseUri}/${encoded relative path}`. */
  baseUri: string;
  /** Undefined until the first scan finishes. */
  overview?: DatasetOverview;
  /** Set while a scan runs. */
  scanning?: { done: number; total: number };
  /** Why the last scan or action failed, in one line. */
  error?: string;
}

// host → panel: the whole state to render.
export interface SnapshotMessage { type: 'snapshot'; snapshot: DatasetSnapshot }
// host → panel: scan progress between snapshots.
export interface ProgressMessage { type: 'progress'; done: number; total: number }
// host → panel: thumbnails the panel asked for (webview URIs of cached files), or why one could not be made.
export interface ThumbnailsMessage { type: 'thumbnails'; items: { file: string; src?: string; error?: string }[] }
export type DatasetHostMessage = SnapshotMessage | ProgressMessage | ThumbnailsMessage;

// panel → host: loaded, wants a snapshot.
export interface ReadyMessage { type: 'ready' }
// panel → host: thumbnails for files now on screen.
export interface ThumbnailRequestMessage { type: 'thumbnails'; files: string[] }
// panel → host: record files as excluded in the manifest.
export interface ExcludeMessage { type: 'exclude'; files: string[]; reason: string }
// panel → host: remove files from the manifest's exclusions.
export interface IncludeMessage { type: 'include'; files: string[] }
// panel → host: move files to another split (the host asks the user first).
export interface MoveMessage { type: 'move'; files: string[]; toSplit: string }
// panel → host: scan again.
export interface RescanMessage { type: 'rescan' }
// panel → host: open one image in an editor tab.
export interface OpenFileMessage { type: 'openFile'; file: string }
export type DatasetPanelMessage = ReadyMessage | ThumbnailRequestMessage | ExcludeMessage | IncludeMessage | MoveMessage | RescanMessage | OpenFileMessage;
