// The server process: owns every tensor and every image decode. Started by
// the extension's LanguageClient over IPC; routes typed requests to the engine
// modules, reports work-done progress and honours cancellation.
import './tfjsLocation';
import { createConnection, ProposedFeatures, TextDocumentSyncKind, WorkDoneProgress } from 'vscode-languageserver/node';
import { BuildNativeKernelsRequest, InspectModelRequest, StatusNotification, StatusRequest, TranslateRequest, type ServerStatus } from '../protocol/server';
import { initBackend } from './backend';
import { registerDatasetRequests } from './data/datasetRequests';
import { registerTrainingRequests } from './training/requests';
import { registerOptionsDiagnostics } from './optionsDiagnostics';
import { buildDtKernels } from './models/layers/nativeKernels';
import { inspectModel } from './models/loadModel';
import { translate } from './translate/translate';

// TensorFlow's C++ start-up notes go to stderr, which the output channel shows
// as errors; TF's own errors still show.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

const connection = createConnection(ProposedFeatures.all);
let task: string | undefined;

async function status(): Promise<ServerStatus> {
  return { backend: await initBackend(), task };
}

async function withTask<T>(name: string, run: () => Promise<T>): Promise<T> {
  task = name;
  connection.sendNotification(StatusNotification, await status());
  try {
    return await run();
  } finally {
    task = undefined;
    connection.sendNotification(StatusNotification, await status());
  }
}

connection.onInitialize(() => ({ capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental } }));

connection.onInitialized(async () => {
  const s = await status();
  connection.console.info(`backend: ${s.backend.name} (tfjs ${s.backend.tfjsVersion})` +
    (s.backend.skipped.length ? `; not used: ${s.backend.skipped.join('; ')}` : ''));
  connection.sendNotification(StatusNotification, s);
});

connection.onRequest(StatusRequest, status);

registerDatasetRequests(connection);
registerTrainingRequests(connection, withTask);
registerOptionsDiagnostics(connection);

connection.onRequest(InspectModelRequest, async ({ path }) => {
  await initBackend();
  return inspectModel(path);
});

connection.onRequest(BuildNativeKernelsRequest, async () => {
  await initBackend();
  // g++ takes both cores for ~30 s, and loading the result needs a server restart
  if (task) throw new Error(`the server is ${task}; build the native kernels when it is idle`);
  return withTask('building native kernels', async () => {
    const start = performance.now();
    const built = await buildDtKernels();
    return { ...built, seconds: (performance.now() - start) / 1000 };
  });
});

connection.onRequest(TranslateRequest, async (params, token) => {
  await initBackend();
  const progress = params.workDoneToken;
  const report = (message: string, percentage: number) => {
    if (progress !== undefined) connection.sendProgress(WorkDoneProgress.type, progress, { kind: 'report', message, percentage });
  };
  return withTask('translating', () => translate(params, {
    onProgress: (done, total, imagesPerSecond) =>
      report(`${done}/${total} images · ${imagesPerSecond.toFixed(1)} images/s`, total ? Math.floor((100 * done) / total) : 0),
    isCancelled: () => token.isCancellationRequested,
  }));
});

connection.listen();
