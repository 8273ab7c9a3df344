// code-server (a real VS Code workbench) for end-to-end tests: provisioned by
// ../shared/tools/provision-code-server.sh, with its own HOME, XDG dirs,
// user data and extensions dirs, started in its own process group so that
// stopping it also ends the extension host and our language server.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchChromium, type Browser } from '../webview/browser';

export const SHARED = path.resolve(__dirname, '../../../shared');

/** Installs code-server if needed and returns its executable (the script's last line). */
export function provisionCodeServer(): string {
  const out = execFileSync('bash', [path.join(SHARED, 'tools/provision-code-server.sh')], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 10 * 60_000,
  });
  return out.trim().split('\n').pop()!;
}

const SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'workbench.tips.enabled': false,
  'chat.disableAIFeatures': true,
};

export class CodeServer {
  private process: ChildProcess | undefined;
  readonly root = mkdtempSync(path.join(os.tmpdir(), 'dt-code-server-'));
  private readonly userData = path.join(this.root, 'user-data');
  private readonly extensions = path.join(this.root, 'extensions');
  readonly log = path.join(this.root, 'code-server.log');
  port = 0;

  /** Its process id, which is also its process group's id. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  constructor(private readonly executable: string) {
    for (const d of ['home', 'xdg-config', 'xdg-data', 'xdg-cache', 'xdg-state', 'user-data/User', 'extensions']) {
      mkdirSync(path.join(this.root, d), { recursive: true });
    }
    // The packaged extension has no tfjs-node; the repo's (when provisioned) gives it the native backend.
    const repo = path.resolve(__dirname, '../..');
    const tfjsDirectory = existsSync(path.join(repo, 'node_modules/@tensorflow/tfjs-node')) ? repo : '';
    const settings = JSON.stringify({ ...SETTINGS, 'domainTranslator.tfjsDirectory': tfjsDirectory }, null, 2);
    mkdirSync(path.join(this.userData, 'Machine'), { recursive: true });
    writeFileSync(path.join(this.userData, 'User/settings.json'), settings);
    writeFileSync(path.join(this.userData, 'Machine/settings.json'), settings);
  }

  private get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      HOME: path.join(this.root, 'home'),
      XDG_CONFIG_HOME: path.join(this.root, 'xdg-config'),
      XDG_DATA_HOME: path.join(this.root, 'xdg-data'),
      XDG_CACHE_HOME: path.join(this.root, 'xdg-cache'),
      XDG_STATE_HOME: path.join(this.root, 'xdg-state'),
    };
  }

  private get dirs(): string[] {
    return ['--user-data-dir', this.userData, '--extensions-dir', this.extensions];
  }

  installExtension(vsix: string): string {
    return execFileSync(this.executable, [...this.dirs, '--install-extension', vsix], {
      env: this.env, encoding: 'utf8', timeout: 5 * 60_000,
    });
  }

  async start(): Promise<string> {
    this.port = await freePort();
    const log = openSync(this.log, 'a');
    // detached: a new session and process group, killed as a whole in stop().
    this.process = spawn(this.executable, ['--bind-addr', `127.0.0.1:${this.port}`, '--auth', 'none',
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
      '--ignore-last-opened', ...this.dirs], { env: this.env, detached: true, stdio: ['ignore', log, log] });
    const url = `http://127.0.0.1:${this.port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.process.exitCode !== null) throw new Error(`code-server exited with ${this.process.exitCode}; see ${this.log}`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) return url;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`code-server did not answer /healthz in 60 s; see ${this.log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Ends code-server with its extension hosts and language servers, then removes its dirs. */
  async stop(keepDirs = false): Promise<void> {
    const pid = this.process?.pid;
    if (pid !== undefined && this.process?.exitCode === null) {
      const exited = new Promise((r) => this.process!.once('exit', r));
      try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(timer);
      // Children that ignored SIGTERM (extension host, server) go too.
      try { process.kill(-pid, 'SIGKILL'); } catch { /* group empty */ }
    }
    if (!keepDirs) rmSync(this.root, { recursive: true, force: true });
  }

  /** The language server: a node process running our dist/server.js in this code-server's process group. */
  languageServerPid(): number {
    const ps = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
    const line = ps.split('\n').find((l) => {
      const [, pgid] = l.trim().split(/\s+/);
      return Number(pgid) === this.pid && /domain-translator[^ ]*\/dist\/server\.js/.test(l);
    });
    assert.ok(line, 'the language server process is running');
    return Number(line.trim().split(/\s+/)[0]);
  }
}

/** What a test file gets from useCodeServer(). */
export interface E2eSession {
  readonly server: CodeServer;
  /** The workspace folder code-server opens, filled before it starts. */
  readonly workspace: string;
  /** Screenshot to test-output/e2e/<prefix><name>.png. */
  shot(page: Page, name: string): Promise<unknown>;
  /** Starts code-server, runs `steps` in a new page, and keeps a 'failure' screenshot if they throw. */
  withPage(steps: (url: string, page: Page) => Promise<void>): Promise<void>;
}

const SHOTS = path.resolve(__dirname, '../../test-output/e2e');

/**
 * A test file's setup and teardown: a fresh workspace that `fill` populates,
 * code-server with the packaged extension, and Chromium; all removed after
 * the file's tests unless E2E_KEEP=1.
 */
export function useCodeServer(shotPrefix: string, fill: (workspace: string) => void): E2eSession {
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let workspace = '';
  before(async () => {
    const executable = provisionCodeServer();
    const vsix = packagedExtension();
    workspace = mkdtempSync(path.join(os.tmpdir(), `dt-e2e-${shotPrefix || 'ws-'}`));
    fill(workspace);
    server = new CodeServer(executable);
    server.installExtension(vsix);
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium({ width: 1400, height: 900 });
  });
  after(async () => {
    await browser?.close();
    await server?.stop(process.env.E2E_KEEP === '1');
    if (workspace && process.env.E2E_KEEP !== '1') rmSync(workspace, { recursive: true, force: true });
  });
  const session: E2eSession = {
    get server() {
      return server!;
    },
    get workspace() {
      return workspace;
    },
    shot: (page, name) => page.screenshot({ path: path.join(SHOTS, `${shotPrefix}${name}.png`) }),
    withPage: async (steps) => {
      const url = await server!.start();
      const page = await browser!.context.newPage();
      try {
        await steps(url, page);
      } catch (e) {
        await session.shot(page, 'failure');
        throw e;
      }
    },
  };
  return session;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The packaged extension, as a user installs it: E2E_VSIX (built once by `npm run test:e2e`), or packaged now. */
export function packagedExtension(): string {
  const root = path.resolve(__dirname, '../..');
  let vsix = process.env.E2E_VSIX;
  if (!vsix) {
    execFileSync('npm', ['run', 'package'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], timeout: 5 * 60_000 });
    vsix = path.join(root, 'dist/domain-translator.vsix');
  }
  if (!existsSync(vsix)) throw new Error(`${vsix} missing`);
  return vsix;
}

/**
 * Right-click an explorer row and run one of its context-menu items. The item
 * appears once the extension host has registered the extension, and a click
 * that lands while the menu re-renders is lost: both are retried.
 */
export async function explorerCommand(page: Page, rowName: string, title: string, onMenu?: () => Promise<unknown>): Promise<void> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: new RegExp(`^${rowName}$`) });
  await row.waitFor({ timeout: 60_000 });
  const menu = page.locator('.monaco-menu');
  const item = page.locator('.monaco-menu .action-item', { hasText: title });
  for (let attempt = 0; ; attempt++) {
    if (attempt >= 30) throw new Error(`the explorer context menu of ${rowName} never ran "${title}"`);
    await row.click({ button: 'right' });
    await menu.waitFor();
    if (await item.isVisible()) {
      await onMenu?.();
      await item.click();
      if (await menu.waitFor({ state: 'hidden', timeout: 3000 }).then(() => true, () => false)) return;
    }
    await page.keyboard.press('Escape');
    await page.waitForTimeout(2000);
  }
}
