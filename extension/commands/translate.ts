// "Translate to Domain A/B": inputs from the explorer selection, a model from
// the picker, the server's translation under a cancellable progress
// notification, then a summary and the comparison panel.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { InspectModelRequest, TranslateRequest, type Direction, type TranslateResult } from '../../protocol/server';
import { message, type ServerClient } from '../client';
import { ComparePanel } from '../panels/comparePanel';
import { pickModel } from './pickModel';
import { forwardProgress } from './workDoneProgress';
import type { RecentModels } from './recentModels';

export interface TranslateDeps {
  server: ServerClient;
  recent: RecentModels;
  log: vscode.LogOutputChannel;
  extensionUri: vscode.Uri;
}

export function translateCommand(deps: TranslateDeps, direction: Direction) {
  const domain = direction === 'AtoB' ? 'B' : 'A';
  // Explorer passes the clicked resource and, with a multi-selection, all of them.
  return async (clicked?: vscode.Uri, selected?: vscode.Uri[]): Promise<void> => {
    const inputs = selected?.length ? selected : clicked ? [clicked] : await askInputs(domain);
    if (!inputs?.length) return;
    const paths = inputs.map((u) => u.fsPath);
    const label = paths.length === 1 ? path.basename(paths[0]!) : `${paths.length} images`;
    const client = deps.server.client;

    const model = await pickModel(client, deps.recent, `Translate ${label} to Domain ${domain}`);
    if (!model) return;
    let summary;
    try {
      summary = await client.sendRequest(InspectModelRequest, { path: model });
    } catch (e) {
      void vscode.window.showErrorMessage(`Domain Translator: ${message(e)}`);
      return;
    }
    await deps.recent.remember(summary);

    let result: TranslateResult;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Translating ${label} to Domain ${domain}`, cancellable: true },
        async (progress, token) => {
          const sub = forwardProgress(client, progress);
          const workDoneToken = sub.workDoneToken;
          progress.report({ message: `loading ${path.basename(model)}…` });
          try {
            return await client.sendRequest(TranslateRequest,
              { inputs: paths, model, direction, eval: false, keepSize: false, workDoneToken }, token);
          } finally {
            sub.dispose();
          }
        });
    } catch (e) {
      deps.log.error(`translate ${paths.join(', ')}: ${message(e)}`);
      void vscode.window.showErrorMessage(`Domain Translator: translation failed: ${message(e)}`);
      return;
    }

    const text = summarize(result);
    deps.log.info(`${text} → ${result.outDir}`);
    ComparePanel.show(deps.extensionUri, { title: `${label} → Domain ${domain}`, inputs: paths, result });
    const show = result.unreadable.length || result.cancelled ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const choice = await show(text, 'Show comparison', 'Reveal output');
    if (choice === 'Show comparison' && !ComparePanel.reveal()) {
      ComparePanel.show(deps.extensionUri, { title: `${label} → Domain ${domain}`, inputs: paths, result });
    }
    if (choice === 'Reveal output') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(result.outDir));
  };
}

export function summarize(r: TranslateResult): string {
  const n = r.translated.length;
  const parts = [`${r.cancelled ? 'Cancelled after' : 'Translated'} ${n} image${n === 1 ? '' : 's'} in ${r.seconds.toFixed(1)} s ` +
    `(${r.imagesPerSecond.toFixed(1)} images/s on ${r.backend}).`];
  if (r.unreadable.length) parts.push(`${r.unreadable.length} unreadable.`);
  if (r.nonImages) parts.push(`${r.nonImages} non-image file${r.nonImages === 1 ? '' : 's'} skipped.`);
  return parts.join(' ');
}

async function askInputs(domain: string): Promise<vscode.Uri[] | undefined> {
  return vscode.window.showOpenDialog({
    title: `Translate to Domain ${domain}: choose a folder`,
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Translate',
  });
}
