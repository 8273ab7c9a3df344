// Forwards the server's work-done progress for one request to a VS Code
// progress notification (the server reports percentages, VS Code increments).
import { randomUUID } from 'node:crypto';
import type * as vscode from 'vscode';
import { WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';

export function forwardProgress(client: LanguageClient, progress: vscode.Progress<{ message?: string; increment?: number }>):
  { workDoneToken: string; dispose(): void } {
  const workDoneToken = randomUUID();
  let reported = 0;
  const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (p) => {
    if (p.kind !== 'report') return;
    const percentage = p.percentage ?? reported;
    progress.report({ message: p.message, increment: percentage - reported });
    reported = percentage;
  });
  return { workDoneToken, dispose: () => sub.dispose() };
}
