// Host of the training panel: one panel showing one run folder. It posts a
// complete snapshot (the server reads the folder: options, log, samples,
// output diversity) when the panel loads or becomes visible and, throttled,
// whenever that run's status changes. The webview may load only the
// extension's bundles and this run folder; every path it sends back must
// resolve to a file inside the run folder, or it is refused and logged.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TrainingHostMessage, TrainingPanelMessage, TrainingPanelSnapshot } from '../../protocol/panels/training';
import { RunSnapshotRequest, type TrainingStatus } from '../../protocol/training';
import { message, type ServerClient } from '../client';
import { resolveInside } from '../training/paths';
import type { TrainingController } from '../training/trainingController';
import { resourceRoots, webviewHtml } from './webviewHtml';

export interface TrainingPanelDeps {
  server: ServerClient;
  training: TrainingController;
  log: vscode.LogOutputChannel;
  extensionUri: vscode.Uri;
}

const REFRESH_MS = 1000;

export class TrainingPanel {
  private static current: TrainingPanel | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastPost = 0;
  private readonly subscriptions: vscode.Disposable[] = [];

  static show(deps: TrainingPanelDeps, runDir: string): void {
    if (TrainingPanel.current) {
      TrainingPanel.current.load(runDir);
      TrainingPanel.current.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel('domainTranslator.training', `Training: ${path.basename(runDir)}`,
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: true }, { enableScripts: true, localResourceRoots: resourceRoots(deps.extensionUri, [runDir]) });
    TrainingPanel.current = new TrainingPanel(panel, deps, runDir);
  }

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly deps: TrainingPanelDeps, private runDir: string) {
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'training.svg');
    this.subscriptions.push(
      panel.webview.onDidReceiveMessage((m: TrainingPanelMessage) => this.onMessage(m)),
      panel.onDidChangeViewState((e) => { if (e.webviewPanel.visible) void this.post(); }),
      deps.training.onDidChange((s) => this.onStatus(s)),
    );
    panel.onDidDispose(() => {
      clearTimeout(this.timer);
      for (const d of this.subscriptions) d.dispose();
      TrainingPanel.current = undefined;
    });
    this.load(runDir);
  }

  private load(runDir: string): void {
    this.runDir = runDir;
    this.panel.title = `Training: ${path.basename(runDir)}`;
    this.panel.webview.options = { enableScripts: true, localResourceRoots: resourceRoots(this.deps.extensionUri, [runDir]) };
    this.panel.webview.html = webviewHtml(this.panel.webview, this.deps.extensionUri, 'training', '<div id="app"></div>');
  }

  private onStatus(s: TrainingStatus | undefined): void {
    if (!s || s.runDir !== this.runDir || !this.panel.visible) return;
    // Throttled: at most one snapshot per second, and always one after the last change.
    clearTimeout(this.timer);
    const wait = Math.max(0, this.lastPost + REFRESH_MS - Date.now());
    this.timer = setTimeout(() => void this.post(), wait);
  }

  private async snapshot(): Promise<TrainingPanelSnapshot> {
    const status = this.deps.training.status?.runDir === this.runDir ? this.deps.training.status : undefined;
    try {
      const snap = await this.deps.server.client.sendRequest(RunSnapshotRequest, { runDir: this.runDir });
      const webview = this.panel.webview;
      const model = snap.options?.model === 'cyclegan' || snap.options?.model === 'pix2pix' ? snap.options.model : undefined;
      return {
        runDir: snap.runDir,
        name: snap.name,
        model,
        status,
        options: snap.options,
        records: snap.records,
        samples: snap.samples.map((s) => ({ ...s, uri: webview.asWebviewUri(vscode.Uri.file(s.file)).toString() })),
        diversity: snap.diversity,
        checkpointStep: snap.checkpointStep,
        warnings: snap.warnings,
      };
    } catch (e) {
      // A run just started has no folder until the server has resolved its options.
      const pending = !existsSync(this.runDir) && (status === undefined || status.state === 'starting');
      return { runDir: this.runDir, name: path.basename(this.runDir), status, records: [], samples: [], diversity: [], warnings: [],
        error: pending ? undefined : message(e) };
    }
  }

  private async post(): Promise<void> {
    this.lastPost = Date.now();
    const runDir = this.runDir;
    const snapshot = await this.snapshot();
    if (runDir !== this.runDir) return;
    const m: TrainingHostMessage = { type: 'snapshot', snapshot };
    void this.panel.webview.postMessage(m);
  }

  private onMessage(m: TrainingPanelMessage): void {
    switch (m.type) {
      case 'ready':
        void this.post();
        break;
      case 'openFile': {
        const file = resolveInside(this.runDir, m.path);
        if (!file) {
          this.deps.log.warn(`training panel: refused to open ${JSON.stringify(m.path)}: not a file inside ${this.runDir}`);
          return;
        }
        void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file), { preview: true, viewColumn: vscode.ViewColumn.Beside });
        break;
      }
      case 'revealRun':
        void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(this.runDir));
        break;
      case 'stop':
        void vscode.commands.executeCommand('domainTranslator.stopTraining');
        break;
      case 'resume':
        void vscode.commands.executeCommand('domainTranslator.resumeTraining', vscode.Uri.file(this.runDir));
        break;
    }
  }
}
