// activate(): the log, the server client, the status bar, and the commands.
import * as vscode from 'vscode';
import { ServerClient } from './client';
import { registerDatasetCommands } from './commands/dataset';
import { buildNativeKernelsCommand } from './commands/nativeKernels';
import { RecentModels } from './commands/recentModels';
import { registerTrainingCommands } from './commands/train';
import { translateCommand } from './commands/translate';
import { ServerStatusBar } from './statusBar';
import { TrainingController } from './training/trainingController';
import { TrainingStatusBar } from './training/trainingStatusBar';

let server: ServerClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('Domain Translator', { log: true });
  server = new ServerClient(context.extensionUri, context.globalStorageUri, log);
  const statusBar = new ServerStatusBar();
  const deps = { server, recent: new RecentModels(context.globalState), log, extensionUri: context.extensionUri };
  context.subscriptions.push(
    log, server, statusBar,
    server.onDidChangeState((s) => statusBar.update(s)),
    vscode.commands.registerCommand('domainTranslator.translateToB', translateCommand(deps, 'AtoB')),
    vscode.commands.registerCommand('domainTranslator.translateToA', translateCommand(deps, 'BtoA')),
    vscode.commands.registerCommand('domainTranslator.showLog', () => log.show()),
    ...registerDatasetCommands({ ...deps, storageUri: context.globalStorageUri }),
    vscode.commands.registerCommand('domainTranslator.restartServer', () => server?.restart()),
    vscode.commands.registerCommand('domainTranslator.buildNativeKernels', buildNativeKernelsCommand(server, log)),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('domainTranslator.tfjsDirectory')) return;
      const pick = await vscode.window.showInformationMessage('Domain Translator: restart the server to use the new TensorFlow.js folder?', 'Restart');
      if (pick) await server?.restart();
    }),
  );
  // Training: live status from the server, recovered from the run folder after a restart.
  const training = new TrainingController(server, context.workspaceState, log);
  const trainingStatusBar = new TrainingStatusBar();
  context.subscriptions.push(training, trainingStatusBar, training.onDidChange((s) => trainingStatusBar.update(s)),
    ...registerTrainingCommands({ server, training, log, extensionUri: context.extensionUri }));
  await server.start();
}

export async function deactivate(): Promise<void> {
  await server?.client.stop();
}
