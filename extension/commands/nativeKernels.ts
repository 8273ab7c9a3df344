// "Build Native Kernels": the installed extension carries the kernels' sources,
// not a compiled addon (one fits one TensorFlow library); the server compiles
// them against the user's tfjs-node and a restart loads them.
import * as vscode from 'vscode';
import { message, type ServerClient } from '../client';
import { BuildNativeKernelsRequest } from '../../protocol/server';

export function buildNativeKernelsCommand(server: ServerClient, log: vscode.LogOutputChannel): () => Promise<void> {
  return async () => {
    try {
      const built = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Domain Translator: compiling the native kernels (about 30 s)…' },
        () => server.client.sendRequest(BuildNativeKernelsRequest),
      );
      log.info(`native kernels built in ${built.seconds.toFixed(1)} s: ${built.file}`);
      if (built.warnings) log.warn(`compiler warnings:\n${built.warnings}`);
      await server.restart();
      void vscode.window.showInformationMessage(`Domain Translator: native kernels built in ${built.seconds.toFixed(0)} s; the server restarted with them.`);
    } catch (e) {
      log.error(`building the native kernels: ${message(e)}`);
      void vscode.window.showErrorMessage(`Domain Translator: ${message(e)}`);
    }
  };
}
