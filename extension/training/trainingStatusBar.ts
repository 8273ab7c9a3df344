// The training status bar item: step/total, epoch, it/s and ETA while a run
// trains; its last state afterwards (or as recovered from the run folder).
// Clicking opens the training panel.
import * as vscode from 'vscode';
import type { TrainingStatus } from '../../protocol/training';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "step 120/1000 · epoch 1 · 2.31 it/s · ETA 6m 21s" */
export function describeProgress(s: TrainingStatus): string {
  const parts = [`step ${s.step}/${s.total || '?'}`];
  if (s.epoch) parts.push(`epoch ${s.epoch}`);
  if (s.iterationsPerSecond) parts.push(`${s.iterationsPerSecond >= 10 ? s.iterationsPerSecond.toFixed(1) : s.iterationsPerSecond.toFixed(2)} it/s`);
  if (s.etaSeconds !== undefined && s.state === 'running') parts.push(`ETA ${formatDuration(s.etaSeconds)}`);
  return parts.join(' · ');
}

const ICON: Record<TrainingStatus['state'], string> = {
  starting: '$(loading~spin)',
  running: '$(pulse)',
  stopping: '$(loading~spin)',
  stopped: '$(debug-pause)',
  finished: '$(pass)',
  failed: '$(error)',
};

export class TrainingStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('domainTranslator.training', vscode.StatusBarAlignment.Left, -1);

  constructor() {
    this.item.name = 'Domain Translator Training';
    this.item.command = 'domainTranslator.showTraining';
  }

  update(s: TrainingStatus | undefined): void {
    if (!s) {
      this.item.hide();
      return;
    }
    const active = s.state === 'running' || s.state === 'starting' || s.state === 'stopping';
    this.item.text = `${ICON[s.state]} Train ${s.name}: ${s.state === 'running' ? describeProgress(s) : s.state === 'starting' ? 'starting' : `${s.state} at step ${s.step}`}`;
    this.item.backgroundColor = s.state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    const tip = new vscode.MarkdownString('', true);
    tip.appendMarkdown(`**Training ${s.name}** — ${s.state}\n\n`);
    tip.appendText(`${describeProgress(s)}\n\n`);
    if (s.message) tip.appendText(`${s.message}\n\n`);
    const losses = Object.entries(s.losses);
    if (losses.length) tip.appendText(`${losses.map(([k, v]) => `${k} ${v.toFixed(3)}`).join('  ')}\n\n`);
    if (s.checkpointStep !== undefined) tip.appendText(`Latest checkpoint: step ${s.checkpointStep}\n\n`);
    if (s.backend) tip.appendText(`Backend: ${s.backend}\n\n`);
    tip.appendMarkdown(active ? '_Click to watch the run. "Domain Translator: Stop Training" stops it and keeps the checkpoint._' : '_Click to open the run._');
    this.item.tooltip = tip;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
