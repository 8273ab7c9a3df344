// The language-server side of options.json validation: every open run
// options file (the client's documentSelector picks them) is checked on open
// and on each change, and its diagnostics published; closing clears them.
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, TextDocuments, type Connection, type Diagnostic } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { detectLayout } from './data/layout';
import { type OptionsDiagnostic, validateOptionsFile, type Severity } from './options/validateOptionsJson';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};

/**
 * The check run on open and on each change: validates the text and publishes
 * the result unless a newer version of the file was checked meanwhile. The
 * version and text are read before validating: TextDocuments updates the same
 * TextDocument object in place, so after the await `doc.version` is already
 * the newest one (a slow check of "6" published over the check of "66").
 */
export function optionsChecker(
  publish: (uri: string, diagnostics: Diagnostic[]) => Promise<void>,
  validate: (text: string, file: string) => Promise<OptionsDiagnostic[]> = (text, file) => validateOptionsFile(text, file, detectLayout),
): { check(doc: TextDocument): Promise<void>; forget(uri: string): void } {
  const latest = new Map<string, number>();
  return {
    async check(doc) {
      if (!doc.uri.startsWith('file:') || !doc.uri.endsWith('options.json')) return;
      const version = doc.version;
      latest.set(doc.uri, version);
      const found = await validate(doc.getText(), fileURLToPath(doc.uri));
      if (latest.get(doc.uri) !== version) return;
      await publish(doc.uri, found.map((d) => ({ range: d.range, severity: SEVERITY[d.severity], message: d.message, source: 'Domain Translator' })));
    },
    forget(uri) {
      latest.delete(uri);
    },
  };
}

export function registerOptionsDiagnostics(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const checker = optionsChecker((uri, diagnostics) => connection.sendDiagnostics({ uri, diagnostics }));
  documents.onDidOpen((e) => void checker.check(e.document));
  documents.onDidChangeContent((e) => void checker.check(e.document));
  documents.onDidClose((e) => {
    checker.forget(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  documents.listen(connection);
}
