// A page shaped like the host's panel HTML (webviewHtml.ts): the production
// CSP with a nonce, the built bundle and its CSS, VS Code's dark theme
// variables, and a fake acquireVsCodeApi that records what the panel posts
// and keeps its state (file: URLs stand in for webview resource URIs).
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import type { Browser } from './browser';

/** What the fake VS Code API saw: every posted message, the saved state, CSP violations. */
export interface Recorded<M = { type: string }> {
  posted: M[];
  state: unknown;
  violations: string[];
}

export interface PanelPage {
  /** The panel's markup inside <body>. */
  body: string;
  /** The state getState() returns, as after a reload. */
  initialState?: unknown;
  /** Script run before the bundle, e.g. definitions onPost uses. */
  prelude?: string;
  /** Script run on each posted message `m` after it is recorded, e.g. to answer a request. */
  onPost?: string;
}

/** Opens the panel in a new page and waits for its 'ready' message. `dir` holds the theme and the page files. */
export async function openPanelPage(browser: Browser, dir: string, bundle: string, panel: PanelPage): Promise<Page> {
  const theme = path.join(dir, 'theme.css');
  writeFileSync(theme, DARK_THEME);
  const nonce = 'dGVzdC1ub25jZQ==';
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src file:; style-src file:; script-src 'nonce-${nonce}'">
<link rel="stylesheet" href="${pathToFileURL(theme).href}">
<link rel="stylesheet" href="${pathToFileURL(bundle.replace(/\.js$/, '.css')).href}">
</head><body>
${panel.body}
<script nonce="${nonce}">
  window.__rec = { posted: [], state: ${JSON.stringify(panel.initialState ?? null)}, violations: [] };
  document.addEventListener('securitypolicyviolation', (e) => window.__rec.violations.push(e.violatedDirective + ' ' + e.blockedURI));
  ${panel.prelude ?? ''}
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => {
      window.__rec.posted.push(m);
      ${panel.onPost ?? ''}
    },
    getState: () => window.__rec.state ?? undefined,
    setState: (s) => { window.__rec.state = s; },
  });
</script>
<script nonce="${nonce}" src="${pathToFileURL(bundle).href}"></script>
</body></html>`;
  const file = path.join(dir, `panel-${Date.now()}-${Math.random().toString(36).slice(2)}.html`);
  writeFileSync(file, html);
  const page = await browser.context.newPage();
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (window as unknown as { __rec: Recorded }).__rec.posted.some((m) => m.type === 'ready'));
  return page;
}

export function recorded<M = { type: string }>(page: Page): Promise<Recorded<M>> {
  return page.evaluate(() => (window as unknown as { __rec: Recorded<M> }).__rec);
}

/** Posts the host's snapshot message to the panel. */
export function postSnapshot(page: Page, snapshot: unknown): Promise<void> {
  return page.evaluate((snap) => window.postMessage({ type: 'snapshot', snapshot: snap }, '*'), snapshot);
}

/** Two animation frames: whatever the last message scheduled has rendered. */
export function frame(page: Page): Promise<unknown> {
  return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** The Dark Modern theme's variables the panels use. */
const DARK_THEME = `:root {
  --vscode-font-family: system-ui, "Ubuntu", "Droid Sans", sans-serif; --vscode-font-size: 13px;
  --vscode-editor-font-family: "Droid Sans Mono", monospace;
  --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-errorForeground: #f85149;
  --vscode-editor-background: #1f1f1f; --vscode-editorWidget-background: #202020; --vscode-panel-border: #2b2b2b;
  --vscode-widget-border: #313131; --vscode-editorWidget-border: #454545; --vscode-editorWarning-foreground: #cca700;
  --vscode-inputValidation-warningBackground: #352a05; --vscode-inputValidation-errorBackground: #5a1d1d;
  --vscode-focusBorder: #0078d4; --vscode-list-hoverBackground: #2a2d2e; --vscode-textLink-foreground: #4daafc;
  --vscode-button-background: #0078d4; --vscode-button-foreground: #ffffff; --vscode-button-hoverBackground: #026ec1;
  --vscode-button-secondaryBackground: #313131; --vscode-button-secondaryForeground: #cccccc;
  --vscode-button-secondaryHoverBackground: #3c3c3c; --vscode-badge-background: #616161; --vscode-badge-foreground: #f8f8f8;
  --vscode-charts-blue: #3794ff; --vscode-charts-orange: #d18616; --vscode-charts-green: #89d185;
  --vscode-charts-purple: #b180d7; --vscode-charts-red: #f14c4c; --vscode-charts-yellow: #cca700;
  --vscode-charts-lines: #80808080;
}`;
