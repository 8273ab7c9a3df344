// The HTML shell every panel shares: a strict CSP with a fresh nonce, the
// panel's bundle and stylesheet from dist/webview, nothing inline.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, panel: string, body: string): string {
  const nonce = randomBytes(18).toString('base64');
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', file));
  // vscode-elements styles its shadow roots with adopted (constructable)
  // stylesheets, which style-src does not restrict; no 'unsafe-inline' needed.
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource}`,
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset(`${panel}.css`)}">
</head>
<body>
${body}
<script nonce="${nonce}" src="${asset(`${panel}.js`)}"></script>
</body>
</html>`;
}

/** Roots the panel's webview may load from: its own bundles and media, plus `folders`. */
export function resourceRoots(extensionUri: vscode.Uri, folders: string[]): vscode.Uri[] {
  return [
    vscode.Uri.joinPath(extensionUri, 'dist', 'webview'),
    vscode.Uri.joinPath(extensionUri, 'media'),
    ...[...new Set(folders)].map((f) => vscode.Uri.file(f)),
  ];
}
