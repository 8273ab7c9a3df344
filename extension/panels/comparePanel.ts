// Host of the comparison panel shown after a translation: builds the
// complete snapshot (webview URIs for every pair) and answers the panel's
// messages. One panel, reused by the next translation.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CompareHostMessage, ComparePanelMessage, CompareSnapshot } from '../../protocol/panels/compare';
import type { ModelSummary, TranslateResult } from '../../protocol/server';
import { resourceRoots, webviewHtml } from './webviewHtml';

export interface CompareRun {
  title: string;
  /** The paths the user selected: one folder, or image files. */
  inputs: string[];
  result: TranslateResult;
}

export class ComparePanel {
  private static current: ComparePanel | undefined;

  static show(extensionUri: vscode.Uri, run: CompareRun): void {
    if (ComparePanel.current) {
      ComparePanel.current.load(run);
      ComparePanel.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel('domainTranslator.compare', run.title, vscode.ViewColumn.Active, {
      enableScripts: true,
    });
    ComparePanel.current = new ComparePanel(panel, extensionUri, run);
  }

  /** Brings the panel of the last run back, if it is still open. */
  static reveal(): boolean {
    ComparePanel.current?.panel.reveal();
    return ComparePanel.current !== undefined;
  }

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly extensionUri: vscode.Uri, private run: CompareRun) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'compare.svg');
    panel.onDidDispose(() => { ComparePanel.current = undefined; });
    panel.webview.onDidReceiveMessage((m: ComparePanelMessage) => this.onMessage(m));
    // A hidden webview is discarded; when shown again it reloads and asks with
    // 'ready', but post too in case it was kept.
    panel.onDidChangeViewState((e) => { if (e.webviewPanel.visible) this.postSnapshot(); });
    this.load(run);
  }

  private load(run: CompareRun): void {
    this.run = run;
    const inputRoots = run.inputs.map((p) => (isImagePath(p) ? path.dirname(p) : p));
    this.panel.title = run.title;
    this.panel.webview.options = {
      enableScripts: true,
      localResourceRoots: resourceRoots(this.extensionUri, [...inputRoots, run.result.outDir]),
    };
    this.panel.webview.html = webviewHtml(this.panel.webview, this.extensionUri, 'compare',
      '<header id="header"></header><div id="empty" hidden>No image was translated.</div><main id="grid"></main>');
  }

  private onMessage(message: ComparePanelMessage): void {
    switch (message.type) {
      case 'ready':
        this.postSnapshot();
        break;
      case 'revealOutput':
        void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(this.run.result.outDir));
        break;
      case 'openImage': {
        const item = this.run.result.translated[message.index];
        if (item) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(message.side === 'input' ? item.input : item.output));
        break;
      }
    }
  }

  private postSnapshot(): void {
    const message: CompareHostMessage = { type: 'snapshot', snapshot: this.snapshot() };
    void this.panel.webview.postMessage(message);
  }

  private snapshot(): CompareSnapshot {
    const { result, inputs, title } = this.run;
    const uri = (p: string) => this.panel.webview.asWebviewUri(vscode.Uri.file(p)).toString();
    const name = (p: string) => displayName(inputs, p);
    return {
      title,
      model: describeModel(result.model),
      backend: result.backend,
      outDir: result.outDir,
      pairs: result.translated.map((t) => ({ name: name(t.input), input: uri(t.input), output: uri(t.output), width: t.width, height: t.height })),
      unreadable: result.unreadable.map((u) => ({ name: name(u.input), reason: u.reason })),
      nonImages: result.nonImages,
      cancelled: result.cancelled,
      seconds: result.seconds,
      imagesPerSecond: result.imagesPerSecond,
    };
  }
}

export function describeModel(m: ModelSummary): string {
  return `${m.architecture}, ngf ${m.ngf}, ${m.norm} norm · ${path.basename(m.path)}`;
}

/** The path relative to the selected folder that holds it, else its base name. */
function displayName(inputs: string[], file: string): string {
  for (const input of inputs) {
    const rel = path.relative(input, file);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel;
  }
  return path.basename(file);
}

function isImagePath(p: string): boolean {
  return /\.(png|jpe?g|webp|bmp|gif|tiff?)$/i.test(p);
}
