// The status bar item: which backend the server runs on and what it is doing;
// the tooltip says why better backends were not taken.
import * as vscode from 'vscode';
import type { ServerState } from './client';

export class ServerStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('domainTranslator.status', vscode.StatusBarAlignment.Left, 0);

  constructor() {
    this.item.name = 'Domain Translator';
    this.item.command = 'domainTranslator.showLog';
    this.update({ kind: 'starting' });
    this.item.show();
  }

  update(state: ServerState): void {
    const tip = new vscode.MarkdownString('', true);
    tip.isTrusted = { enabledCommands: ['domainTranslator.showLog', 'domainTranslator.restartServer', 'domainTranslator.buildNativeKernels'] };
    tip.appendMarkdown('**Domain Translator** server\n\n');
    this.item.backgroundColor = undefined;
    if (state.kind === 'starting') {
      this.item.text = '$(loading~spin) DT: starting';
      tip.appendMarkdown('Starting…');
    } else if (state.kind === 'stopped') {
      this.item.text = '$(error) DT: stopped';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      tip.appendText(`Stopped: ${state.reason}`);
    } else {
      const { backend, task } = state.status;
      this.item.text = task ? `$(sync~spin) DT: ${backend.name} · ${task}` : `$(symbol-misc) DT: ${backend.name}`;
      tip.appendMarkdown(`Backend: **${backend.name}** (tfjs ${backend.tfjsVersion}` +
        (backend.threads ? `, ${backend.threads} threads` : '') + ')\n\n');
      if (backend.nativeKernels) tip.appendText(`Native kernels (norms, reflection padding, convolutions): ${backend.nativeKernels}\n\n`);
      if (backend.nativeKernelsBuildable) tip.appendMarkdown('[Build native kernels](command:domainTranslator.buildNativeKernels) (needs g++; about 30 s, then a server restart)\n\n');
      for (const s of backend.skipped) tip.appendText(`Not used: ${s}\n\n`);
      tip.appendText(`Task: ${task ?? 'idle'}`);
    }
    tip.appendMarkdown('\n\n[Show log](command:domainTranslator.showLog) · [Restart server](command:domainTranslator.restartServer)');
    this.item.tooltip = tip;
  }

  dispose(): void {
    this.item.dispose();
  }
}
