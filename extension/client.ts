// Starts the server (dist/server.js) as a LanguageClient over IPC, restarts it
// when it dies (telling the user), and publishes its status.
import * as vscode from 'vscode';
import { CloseAction, ErrorAction, LanguageClient, State, TransportKind, type ServerOptions } from 'vscode-languageclient/node';
import { StatusNotification, type ServerStatus } from '../protocol/server';

const RESTART_WINDOW_MS = 3 * 60_000;
const MAX_RESTARTS = 4;

export type ServerState = { kind: 'starting' } | { kind: 'running'; status: ServerStatus } | { kind: 'stopped'; reason: string };

export class ServerClient implements vscode.Disposable {
  readonly client: LanguageClient;
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private restarts: number[] = [];
  /** What the server was doing when last heard from, to tell the user what a crash lost. */
  private task: string | undefined;
  private readonly forkOptions: { env: NodeJS.ProcessEnv };

  constructor(extensionUri: vscode.Uri, private readonly storage: vscode.Uri, private readonly log: vscode.LogOutputChannel) {
    const module = vscode.Uri.joinPath(extensionUri, 'dist', 'server.js').fsPath;
    // The server resolves TensorFlow.js from this folder when set; the same
    // options object is reused (and updated) at every restart.
    this.forkOptions = { env: this.serverEnv() };
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc, options: this.forkOptions },
      debug: { module, transport: TransportKind.ipc, options: { ...this.forkOptions, execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    this.client = new LanguageClient('domainTranslator', 'Domain Translator', serverOptions, {
      // Run options files, validated as the user types (server/optionsDiagnostics.ts).
      documentSelector: [{ scheme: 'file', language: 'json', pattern: '**/.domain-translator/runs/*/options.json' }],
      outputChannel: log,
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => this.onClosed(),
      },
    });
    this.client.onNotification(StatusNotification, (status) => {
      this.task = status.task;
      this.stateEmitter.fire({ kind: 'running', status });
    });
    this.client.onDidChangeState((e) => {
      if (e.newState === State.Starting) this.stateEmitter.fire({ kind: 'starting' });
      if (e.newState === State.Stopped) this.stateEmitter.fire({ kind: 'stopped', reason: 'stopped' });
    });
  }

  async start(): Promise<void> {
    try {
      await this.client.start();
    } catch (e) {
      this.log.error(`server failed to start: ${message(e)}`);
      this.stateEmitter.fire({ kind: 'stopped', reason: message(e) });
      void this.warn(`Domain Translator: the server failed to start: ${message(e)}`);
    }
  }

  async restart(): Promise<void> {
    this.restarts = [];
    this.forkOptions.env = this.serverEnv();
    this.log.info('restarting the server');
    if (this.client.isRunning()) await this.client.restart();
    else await this.start();
  }

  /**
   * The server's environment: DOMAIN_TRANSLATOR_TFJS_DIR from the
   * domainTranslator.tfjsDirectory setting, and where "Build Native Kernels"
   * puts the addon (the extension's global storage).
   */
  private serverEnv(): NodeJS.ProcessEnv {
    const dir = vscode.workspace.getConfiguration('domainTranslator').get<string>('tfjsDirectory', '').trim();
    const env: NodeJS.ProcessEnv = { ...process.env, DOMAIN_TRANSLATOR_NATIVE_DIR: vscode.Uri.joinPath(this.storage, 'native').fsPath };
    if (dir) env.DOMAIN_TRANSLATOR_TFJS_DIR = dir;
    else delete env.DOMAIN_TRANSLATOR_TFJS_DIR;
    return env;
  }

  dispose(): void {
    void this.client.dispose();
    this.stateEmitter.dispose();
  }

  private onClosed(): { action: CloseAction; handled: true } {
    const now = Date.now();
    this.restarts = [...this.restarts.filter((t) => now - t < RESTART_WINDOW_MS), now];
    if (this.restarts.length > MAX_RESTARTS) {
      this.log.error(`the server stopped ${this.restarts.length} times in 3 minutes; not restarting it`);
      this.stateEmitter.fire({ kind: 'stopped', reason: `crashed ${this.restarts.length} times in 3 minutes` });
      void this.warn('Domain Translator: the server keeps stopping and was not restarted. Use "Domain Translator: Restart Server" after checking the log.');
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    const lost = this.task ? ` The running task (${this.task}) was lost.` : '';
    this.task = undefined;
    this.log.warn(`the server stopped unexpectedly; restarting it.${lost}`);
    void this.warn(`Domain Translator: the server stopped unexpectedly and was restarted.${lost}`);
    return { action: CloseAction.Restart, handled: true };
  }

  private async warn(text: string): Promise<void> {
    if ((await vscode.window.showWarningMessage(text, 'Show Log')) === 'Show Log') this.log.show();
  }
}

/** The error's own words: vscode-jsonrpc prefixes what a server handler throws. */
export function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/^Request \S+ failed with message: /, '');
}
