// Models the user translated with, most recent first, kept in globalState
// with their detected summary so the picker can describe them instantly.
import * as vscode from 'vscode';
import type { ModelSummary } from '../../protocol/server';

const KEY = 'domainTranslator.recentModels';
const MAX = 8;

export class RecentModels {
  constructor(private readonly memento: vscode.Memento) {}

  /** The remembered models whose files still exist. */
  async list(): Promise<ModelSummary[]> {
    const all = this.memento.get<ModelSummary[]>(KEY, []);
    const exists = await Promise.all(all.map((m) => vscode.workspace.fs.stat(vscode.Uri.file(m.path)).then(() => true, () => false)));
    return all.filter((_, i) => exists[i]);
  }

  async remember(model: ModelSummary): Promise<void> {
    const rest = this.memento.get<ModelSummary[]>(KEY, []).filter((m) => m.path !== model.path);
    await this.memento.update(KEY, [model, ...rest].slice(0, MAX));
  }
}
