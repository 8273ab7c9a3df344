// The model QuickPick: recently used models first, then training runs and
// checkpoints found in the workspace (described as the server detects them),
// then "Browse…".
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { InspectModelRequest, type ModelSummary } from '../../protocol/server';
import { message } from '../client';
import type { RecentModels } from './recentModels';

interface ModelItem extends vscode.QuickPickItem {
  path?: string;
  browse?: true;
}

const BROWSE = 'Browse for a checkpoint (.pth or tfjs model.json)…';

export async function pickModel(client: LanguageClient, recent: RecentModels, title: string): Promise<string | undefined> {
  const qp = vscode.window.createQuickPick<ModelItem>();
  qp.title = title;
  qp.placeholder = 'Choose a model: the architecture is detected from the checkpoint';
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  qp.busy = true;
  const recents = await recent.list();
  const recentItems: ModelItem[] = recents.map((m) => ({ label: `$(history) ${path.basename(m.path)}`, description: summary(m), detail: m.path, path: m.path }));
  const browse: ModelItem = { label: `$(folder-opened) ${BROWSE}`, browse: true, alwaysShow: true };
  let found: ModelItem[] = [];
  const refresh = () => {
    const active = qp.activeItems[0]?.path;
    qp.items = [
      ...section('Recently used', recentItems),
      ...section('In this workspace', found),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      browse,
    ];
    const again = qp.items.find((i) => i.path !== undefined && i.path === active);
    if (again) qp.activeItems = [again];
  };
  refresh();
  qp.show();

  void (async () => {
    const known = new Set(recents.map((m) => m.path));
    // Checkpoints, and training runs as folders (not the .pth files inside their checkpoints).
    const [files, runs] = await Promise.all([
      vscode.workspace.findFiles('**/*.{pth,pt}', '{**/node_modules/**,**/.domain-translator/**}', 50),
      vscode.workspace.findFiles('**/.domain-translator/runs/*/options.json', '**/node_modules/**', 50),
    ]);
    const item = (p: string, icon: string): ModelItem =>
      ({ label: `$(${icon}) ${path.basename(p)}`, description: 'detecting…', detail: vscode.workspace.asRelativePath(p), path: p });
    found = [
      ...runs.map((f) => path.dirname(f.fsPath)).filter((p) => !known.has(p)).sort().map((p) => item(p, 'beaker')),
      ...files.map((f) => f.fsPath).filter((p) => !known.has(p)).sort().map((p) => item(p, 'file-binary')),
    ];
    refresh();
    const unusable = new Set<ModelItem>();
    for (const item of found) {
      try {
        item.description = summary(await client.sendRequest(InspectModelRequest, { path: item.path! }));
      } catch (e) {
        item.description = '$(warning) not usable';
        // The server's message names the file; show it by its workspace path.
        const reason = message(e);
        item.detail = reason.includes(item.path!) ? reason.replace(item.path!, item.detail!) : `${item.detail} — ${reason}`;
        unusable.add(item);
      }
      refresh();
    }
    // Usable checkpoints first once all are known.
    found = [...found.filter((i) => !unusable.has(i)), ...found.filter((i) => unusable.has(i))];
    refresh();
    const usable = qp.items.find((i) => i.path !== undefined && !unusable.has(i));
    if (usable && unusable.has(qp.activeItems[0]!)) qp.activeItems = [usable];
    qp.busy = false;
  })();

  const picked = await new Promise<ModelItem | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]));
    qp.onDidHide(() => resolve(undefined));
  });
  qp.dispose();
  if (!picked?.browse) return picked?.path;
  const chosen = await vscode.window.showOpenDialog({
    title: 'Choose a PyTorch checkpoint (.pth) or an exported tfjs model.json',
    canSelectMany: false,
    filters: { 'PyTorch checkpoint': ['pth', 'pt'], 'TensorFlow.js model': ['json'] },
    openLabel: 'Use this model',
  });
  return chosen?.[0]?.fsPath;
}

export function summary(m: ModelSummary): string {
  return `${m.architecture} · ngf ${m.ngf} · ${m.norm} norm${m.role === 'generator' ? '' : ` · ${m.role}`}`;
}

function section(label: string, items: ModelItem[]): ModelItem[] {
  return items.length ? [{ label, kind: vscode.QuickPickItemKind.Separator }, ...items] : [];
}
