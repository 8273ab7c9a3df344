// Host of the dataset view: one panel per dataset folder. Runs the server's
// scan with progress, answers the panel's messages (thumbnails, exclude,
// include, move after confirmation) and always posts a complete snapshot.
// Every file the panel names must be one the scan listed.
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import {
  DatasetExcludeRequest, DatasetIncludeRequest, DatasetListRequest, DatasetMoveRequest, DatasetScanRequest, DatasetThumbnailsRequest,
} from '../../protocol/dataset';
import type { DatasetHostMessage, DatasetPanelMessage, DatasetSnapshot } from '../../protocol/panels/dataset';
import { resourceRoots, webviewHtml } from './webviewHtml';

const THUMBNAIL_SIZE = 160;

export class DatasetPanel {
  private static readonly open = new Map<string, DatasetPanel>();
  private snapshot: DatasetSnapshot;
  private scan?: vscode.CancellationTokenSource;

  /** `cacheDir`: where the server writes thumbnails; the webview may load from it and from the dataset folder only. */
  static show(client: LanguageClient, extensionUri: vscode.Uri, root: string, cacheDir: string): DatasetPanel {
    const existing = DatasetPanel.open.get(root);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel('domainTranslator.dataset', `Dataset: ${path.basename(root)}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: resourceRoots(extensionUri, [root, cacheDir]),
    });
    const view = new DatasetPanel(panel, client, extensionUri, root, cacheDir);
    DatasetPanel.open.set(root, view);
    return view;
  }

  /** Rescans every open view of `root` (after a move or undo from a command). */
  static refresh(root: string): void {
    void DatasetPanel.open.get(root)?.rescan();
  }

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly client: LanguageClient,
    extensionUri: vscode.Uri, private readonly root: string, private readonly cacheDir: string) {
    this.snapshot = { name: path.basename(root), root, baseUri: panel.webview.asWebviewUri(vscode.Uri.file(root)).toString() };
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'dataset.svg');
    panel.onDidDispose(() => {
      this.scan?.cancel();
      DatasetPanel.open.delete(root);
    });
    panel.webview.onDidReceiveMessage((m: DatasetPanelMessage) => void this.onMessage(m));
    panel.onDidChangeViewState((e) => { if (e.webviewPanel.visible) this.post({ type: 'snapshot', snapshot: this.snapshot }); });
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'dataset', '<div id="app"></div>');
    void this.rescan();
  }

  private post(message: DatasetHostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  private update(patch: Partial<DatasetSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    this.post({ type: 'snapshot', snapshot: this.snapshot });
  }

  async rescan(): Promise<void> {
    this.scan?.cancel();
    const cancel = (this.scan = new vscode.CancellationTokenSource());
    const workDoneToken = randomUUID();
    this.update({ scanning: { done: 0, total: 0 }, error: undefined });
    const sub = this.client.onProgress(WorkDoneProgress.type, workDoneToken, (p) => {
      const m = p.kind === 'report' ? /^(\d+)\/(\d+)/.exec(p.message ?? '') : null;
      if (m) this.post({ type: 'progress', done: Number(m[1]), total: Number(m[2]) });
    });
    try {
      // The listing first (no decoding), so the grids and thumbnails show while the checks run.
      const listing = await this.client.sendRequest(DatasetListRequest, { root: this.root }, cancel.token);
      if (this.scan === cancel) this.update({ overview: listing, scanning: { done: 0, total: listing.images.length } });
      const overview = await this.client.sendRequest(DatasetScanRequest, { root: this.root, workDoneToken }, cancel.token);
      if (this.scan === cancel) this.update({ overview, scanning: undefined });
    } catch (e) {
      if (this.scan === cancel) this.update({ scanning: undefined, error: message(e) });
    } finally {
      sub.dispose();
    }
  }

  /** The files the panel named, if every one is an image of the current scan; otherwise undefined (and logged as refused). */
  private known(files: unknown): string[] | undefined {
    const listed = new Set(this.snapshot.overview?.images.map((i) => i.file));
    if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof f === 'string' && listed.has(f))) return undefined;
    return files as string[];
  }

  private async onMessage(m: DatasetPanelMessage): Promise<void> {
    try {
      switch (m.type) {
        case 'ready':
          this.post({ type: 'snapshot', snapshot: this.snapshot });
          break;
        case 'rescan':
          await this.rescan();
          break;
        case 'thumbnails': {
          const files = this.known(m.files);
          if (!files) return;
          const r = await this.client.sendRequest(DatasetThumbnailsRequest, { root: this.root, files, size: THUMBNAIL_SIZE, cacheDir: this.cacheDir });
          this.post({ type: 'thumbnails', items: r.items.map((i) => ({ file: i.file, error: i.error,
            src: i.path ? this.panel.webview.asWebviewUri(vscode.Uri.file(i.path)).toString() : undefined })) });
          break;
        }
        case 'exclude':
        case 'include': {
          const files = this.known(m.files);
          if (!files || !this.snapshot.overview) return;
          const r = m.type === 'exclude'
            ? await this.client.sendRequest(DatasetExcludeRequest, { root: this.root, files, reason: String(m.reason).slice(0, 200) })
            : await this.client.sendRequest(DatasetIncludeRequest, { root: this.root, files });
          this.update({ overview: { ...this.snapshot.overview, excluded: r.excluded } });
          break;
        }
        case 'move': {
          const files = this.known(m.files);
          if (!files) return;
          const what = files.length === 1 ? files[0] : `${files.length} images`;
          const ok = await vscode.window.showWarningMessage(`Move ${what} to ${m.toSplit}/?`,
            { modal: true, detail: 'The files are renamed on disk (never overwriting) and the move is recorded in domain-translator.dataset.json, so "Undo Last Dataset Move" can put them back.' },
            'Move');
          if (ok !== 'Move') return;
          await this.client.sendRequest(DatasetMoveRequest, { root: this.root, files, toSplit: m.toSplit });
          await this.rescan();
          break;
        }
        case 'openFile': {
          const files = this.known([m.file]);
          if (files) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path.join(this.root, files[0])));
          break;
        }
      }
    } catch (e) {
      this.update({ error: message(e) });
      void vscode.window.showErrorMessage(`Domain Translator: ${message(e)}`);
    }
  }
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
