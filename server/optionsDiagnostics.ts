// The language-server side of options.json validation: every open run
// options file (the client's documentSelector picks them) is checked on open
// and on each change, and its diagnostics published; closing clears them.
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, TextDocuments, type Connection, type Diagnostic } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { detectLayout } from './data/layout';
import { validateOptionsFile, type Severity } from './options/validateOptionsJson';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};

export function registerOptionsDiagnostics(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  // Only the latest version's result is published when checks overlap.
  const latest = new Map<string, number>();

  const check = async (doc: TextDocument): Promise<void> => {
    if (!doc.uri.startsWith('file:') || !doc.uri.endsWith('options.json')) return;
    latest.set(doc.uri, doc.version);
    const found = await validateOptionsFile(doc.getText(), fileURLToPath(doc.uri), detectLayout);
    if (latest.get(doc.uri) !== doc.version) return;
    const diagnostics: Diagnostic[] = found.map((d) => ({
      range: d.range, severity: SEVERITY[d.severity], message: d.message, source: 'Domain Translator',
    }));
    await connection.sendDiagnostics({ uri: doc.uri, diagnostics });
  };

  documents.onDidOpen((e) => void check(e.document));
  documents.onDidChangeContent((e) => void check(e.document));
  documents.onDidClose((e) => {
    latest.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  documents.listen(connection);
}
