// Dataset commands: open the dataset view (explorer folder or palette), build
// an aligned A|B folder, create a test split, undo the last move.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DatasetCombineRequest, DatasetTestSplitRequest, DatasetUndoMoveRequest } from '../../protocol/dataset';
import { DatasetPanel } from '../panels/datasetPanel';

export interface DatasetDeps {
  server: { client: LanguageClient };
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** The extension's global storage: thumbnails are cached in its thumbnails/ folder. */
  storageUri: vscode.Uri;
}

async function pickFolder(clicked: vscode.Uri | undefined, title: string): Promise<string | undefined> {
  if (clicked?.scheme === 'file') return clicked.fsPath;
  const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
  return picked?.[0]?.fsPath;
}

function failed(deps: DatasetDeps, what: string) {
  return (e: unknown) => {
    const text = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    deps.log.error(`${what}: ${text}`);
    void vscode.window.showErrorMessage(`Domain Translator: ${what} failed: ${text}`);
  };
}

export function registerDatasetCommands(deps: DatasetDeps): vscode.Disposable[] {
  const client = () => deps.server.client;
  return [
    vscode.commands.registerCommand('domainTranslator.openDatasetView', async (clicked?: vscode.Uri) => {
      const root = await pickFolder(clicked, 'Open Dataset View');
      if (root) DatasetPanel.show(client(), deps.extensionUri, root, vscode.Uri.joinPath(deps.storageUri, 'thumbnails').fsPath);
    }),
    vscode.commands.registerCommand('domainTranslator.buildAlignedDataset', async (clicked?: vscode.Uri) => {
      const root = await pickFolder(clicked, 'Folder with A/ and B/');
      if (!root) return;
      try {
        const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Building aligned A|B folder' },
          () => client().sendRequest(DatasetCombineRequest, { root }));
        const skipped = r.skipped.length ? `; skipped ${r.skipped.length} (${r.skipped.slice(0, 3).map((s) => `${s.stem}: ${s.reason}`).join('; ')})` : '';
        void vscode.window.showInformationMessage(`Wrote ${r.written} A|B images to ${r.outDir}/train${skipped}`);
      } catch (e) { failed(deps, 'building the aligned folder')(e); }
    }),
    vscode.commands.registerCommand('domainTranslator.createTestSplit', async (clicked?: vscode.Uri) => {
      const root = await pickFolder(clicked, 'Dataset folder');
      if (!root) return;
      const percent = await vscode.window.showInputBox({ title: 'Create Test Split', prompt: 'Percentage of each train split to move to test',
        value: '10', validateInput: (v) => (Number(v) > 0 && Number(v) < 100 ? undefined : 'a number between 0 and 100') });
      if (!percent) return;
      const ok = await vscode.window.showWarningMessage(`Move ${percent}% of each train split into its test split?`,
        { modal: true, detail: 'Files are renamed, never overwritten, and every move is recorded in domain-translator.dataset.json so it can be undone.' }, 'Move');
      if (ok !== 'Move') return;
      try {
        const r = await client().sendRequest(DatasetTestSplitRequest, { root, fraction: Number(percent) / 100 });
        void vscode.window.showInformationMessage(`Moved ${r.moves.length} images to test splits.`);
        DatasetPanel.refresh(root);
      } catch (e) { failed(deps, 'creating the test split')(e); }
    }),
    vscode.commands.registerCommand('domainTranslator.undoDatasetMove', async (clicked?: vscode.Uri) => {
      const root = await pickFolder(clicked, 'Dataset folder');
      if (!root) return;
      try {
        const r = await client().sendRequest(DatasetUndoMoveRequest, { root });
        void vscode.window.showInformationMessage(`Moved ${r.to} back to ${r.from}.`);
        DatasetPanel.refresh(root);
      } catch (e) { failed(deps, 'undoing the move')(e); }
    }),
  ];
}
