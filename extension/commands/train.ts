// "Start Training…", "Stop Training", "Resume Training…", "Show Training":
// a short QuickPick flow (dataset folder with its detected layout, model
// suggested from it, preset, run name), then the server trains under a
// progress notification whose Cancel stops the run and keeps its checkpoint.
// Everything runs in the server process; nothing here waits on a step.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import {
  DetectLayoutRequest, ListRunsRequest, StartTrainingRequest, StopTrainingRequest,
  type LayoutInfo, type StartTrainingParams, type TrainModel, type TrainPreset, type TrainingResult,
} from '../../protocol/training';
import { message, type ServerClient } from '../client';
import { TrainingPanel } from '../panels/trainingPanel';
import { forwardProgress } from './workDoneProgress';
import { defaultRunName, isInside, runsDir, sanitizeRunName } from '../training/paths';
import type { TrainingController } from '../training/trainingController';

export interface TrainDeps {
  server: ServerClient;
  training: TrainingController;
  log: vscode.LogOutputChannel;
  extensionUri: vscode.Uri;
}

const UNTRUSTED = 'Domain Translator: training is disabled in an untrusted workspace — it reads the datasets and run folders of this workspace and writes checkpoints. Trust the workspace (Manage Workspace Trust) to train here.';

const PRESETS: { preset: TrainPreset; label: string; detail: string }[] = [
  { preset: 'preview', label: 'Preview', detail: '64 px (pix2pix 128 px), ngf 32, 6 ResNet blocks, 1000 steps — minutes on a laptop CPU, to see it learn' },
  { preset: 'standard', label: 'Standard', detail: '128 px, ngf 64, 20000 steps — hours on a CPU, usable results' },
  { preset: 'full', label: 'Full (official)', detail: 'official defaults: 256 px, ngf 64, 9 blocks / U-Net 256, 200 epochs — for a bigger machine' },
];

function workspaceOf(folder: string): string | undefined {
  const wf = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(folder)) ?? vscode.workspace.workspaceFolders?.[0];
  return wf?.uri.scheme === 'file' ? wf.uri.fsPath : undefined;
}

function trusted(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(UNTRUSTED);
  return false;
}

/** The settings e2e tests and quick experiments use to shorten runs (0: the preset's value). */
function lengthSettings(): Pick<StartTrainingParams, 'iterations' | 'printEvery' | 'sampleEvery'> {
  const c = vscode.workspace.getConfiguration('domainTranslator.training');
  const positive = (k: string) => {
    const v = c.get<number>(k, 0);
    return Number.isInteger(v) && v > 0 ? v : undefined;
  };
  return { iterations: positive('iterations'), printEvery: positive('logEvery'), sampleEvery: positive('sampleEvery') };
}

const BROWSE = '$(folder-opened) Browse for a dataset folder…';

/** Folders of the workspace that look like datasets: parents of trainA/, train/ or A/ holding images. */
async function findDatasets(): Promise<string[]> {
  const files = await vscode.workspace.findFiles('**/{trainA,train,A}/*.{jpg,jpeg,png,JPG,JPEG,PNG,webp,bmp}', '{**/node_modules/**,**/.domain-translator/**}', 2000);
  return [...new Set(files.filter((f) => f.scheme === 'file').map((f) => path.dirname(path.dirname(f.fsPath))))].sort();
}

async function pickDataset(clicked: vscode.Uri | undefined): Promise<string | undefined> {
  if (clicked?.scheme === 'file') return clicked.fsPath;
  const found = await findDatasets();
  if (found.length) {
    const items = [
      ...found.map((dir) => ({ label: `$(folder) ${path.basename(dir)}`, description: vscode.workspace.asRelativePath(dir), dir })),
      { label: '', kind: vscode.QuickPickItemKind.Separator, dir: '' },
      { label: BROWSE, dir: '' },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: 'Start Training (1/4): dataset folder', placeHolder: 'Datasets found in this workspace (trainA/ + trainB/, train/, or A/ + B/)', matchOnDescription: true,
    });
    if (!picked) return undefined;
    if (picked.dir) return picked.dir;
  }
  const browsed = await vscode.window.showOpenDialog({
    title: 'Start Training: dataset folder (trainA/ + trainB/, train/ with A|B images, or A/ + B/)',
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Train on this folder',
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return browsed?.[0]?.fsPath;
}

async function pickModel(layout: LayoutInfo): Promise<TrainModel | undefined> {
  type ModelItem = vscode.QuickPickItem & { model: TrainModel };
  const choices: ModelItem[] = [
    { model: 'cyclegan', label: 'CycleGAN', description: 'unpaired: trainA/ and trainB/', detail: 'G_A, G_B, D_A, D_B; cycle and identity losses (Zhu et al. 2017)' },
    { model: 'pix2pix', label: 'pix2pix', description: 'paired: train/ with A|B images, or A/ and B/', detail: 'U-Net generator, PatchGAN on (A, B), L1 loss (Isola et al. 2017)' },
  ];
  const items = choices.map((i) => (i.model === layout.suggestedModel ? { ...i, label: `$(star-full) ${i.label}`, description: `suggested for ${layout.kind} data` } : i))
    .sort((a, b) => Number(b.model === layout.suggestedModel) - Number(a.model === layout.suggestedModel));
  const picked = await vscode.window.showQuickPick(items, {
    title: `Start Training on ${path.basename(layout.root)} (2/4): model`,
    placeHolder: `Detected layout — ${layout.description}`,
    matchOnDescription: true,
  });
  return picked?.model;
}

async function pickPreset(dataset: string): Promise<TrainPreset | undefined> {
  const picked = await vscode.window.showQuickPick(PRESETS.map((p) => ({ ...p, description: p.preset === 'preview' ? 'start here' : undefined })), {
    title: `Start Training on ${path.basename(dataset)} (3/4): preset`,
    placeHolder: 'How big and how long: every option is saved in the run\'s options.json',
  });
  return picked?.preset;
}

async function askName(dataset: string, model: TrainModel, preset: TrainPreset, workspace: string): Promise<string | undefined> {
  const value = defaultRunName(dataset, model, preset);
  const name = await vscode.window.showInputBox({
    title: `Start Training on ${path.basename(dataset)} (4/4): run name`,
    prompt: `The run folder: ${path.join(vscode.workspace.asRelativePath(runsDir(workspace)), '<name>')}`,
    value,
    validateInput: (v) => (sanitizeRunName(v) === v.trim() && v.trim() ? undefined : 'letters, digits, ".", "_" and "-" only'),
  });
  return name?.trim();
}

/** Runs one StartTraining request under a progress notification; Cancel = Stop Training. */
async function train(deps: TrainDeps, params: Omit<StartTrainingParams, 'workDoneToken'>, title: string): Promise<void> {
  const client = deps.server.client;
  TrainingPanel.show(deps, params.runDir);
  let result: TrainingResult;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        const sub = forwardProgress(client, progress);
        const workDoneToken = sub.workDoneToken;
        // Cancel stops the run the way "Stop Training" does: the engine saves a checkpoint first.
        const onCancel = token.onCancellationRequested(() => {
          progress.report({ message: 'saving a checkpoint, then stopping…' });
          void client.sendRequest(StopTrainingRequest);
        });
        progress.report({ message: params.resume ? 'loading the checkpoint…' : 'loading the dataset…' });
        try {
          return await client.sendRequest(StartTrainingRequest, { ...params, workDoneToken });
        } finally {
          sub.dispose();
          onCancel.dispose();
        }
      });
  } catch (e) {
    // A connection lost with the server is reported by the recovery (TrainingController); the server's own errors here.
    if (e instanceof ResponseError && e.code === 1) {
      deps.log.error(`training ${params.runDir}: ${e.message}`);
      void vscode.window.showErrorMessage(`Domain Translator: training failed: ${e.message}`, 'Show Log').then((c) => { if (c) deps.log.show(); });
    } else {
      deps.log.warn(`training ${params.runDir}: ${message(e)}`);
    }
    return;
  }
  const text = result.cancelled
    ? `Training stopped at step ${result.step}/${result.iterations}; its checkpoint is kept — "Resume Training…" continues it.`
    : result.startStep >= result.iterations
      ? `${path.basename(result.runDir)} is already complete at step ${result.step}; raise "iterations" in its options.json (or the setting domainTranslator.training.iterations) to train further.`
      : `Training finished: ${result.step} steps in ${path.basename(result.runDir)}.`;
  deps.log.info(text);
  const choice = await vscode.window.showInformationMessage(text, 'Show Training', 'Reveal Run Folder');
  if (choice === 'Show Training') TrainingPanel.show(deps, result.runDir);
  if (choice === 'Reveal Run Folder') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(result.runDir));
}

function refuseWhileTraining(deps: TrainDeps): boolean {
  if (!deps.training.isTraining) return false;
  void vscode.window.showWarningMessage(`Domain Translator: ${deps.training.status!.name} is training; stop it first ("Domain Translator: Stop Training").`);
  return true;
}

async function startCommand(deps: TrainDeps, clicked?: vscode.Uri): Promise<void> {
  if (!trusted() || refuseWhileTraining(deps)) return;
  const dataset = await pickDataset(clicked);
  if (!dataset) return;
  const workspace = workspaceOf(dataset);
  if (!workspace) {
    void vscode.window.showErrorMessage('Domain Translator: open a folder first — runs are saved in its .domain-translator/runs/.');
    return;
  }
  let layout: LayoutInfo;
  try {
    layout = await deps.server.client.sendRequest(DetectLayoutRequest, { root: dataset });
  } catch (e) {
    void vscode.window.showErrorMessage(`Domain Translator: ${message(e)}`);
    return;
  }
  if (layout.kind === 'single') {
    void vscode.window.showErrorMessage(`Domain Translator: ${path.basename(dataset)} is a single folder of images; training needs trainA/ + trainB/ (CycleGAN), or train/ with A|B images, or A/ + B/ (pix2pix).`);
    return;
  }
  const model = await pickModel(layout);
  if (!model) return;
  const preset = await pickPreset(dataset);
  if (!preset) return;
  const name = await askName(dataset, model, preset, workspace);
  if (!name) return;
  const runDir = path.join(runsDir(workspace), name);
  const existing = await deps.server.client.sendRequest(ListRunsRequest, { workspace });
  if (existing.some((r) => r.runDir === runDir)) {
    void vscode.window.showErrorMessage(`Domain Translator: a run named ${name} exists; "Resume Training…" continues it, or choose another name.`);
    return;
  }
  await train(deps, { runDir, workspace, resume: false, dataset, model, preset, name, ...lengthSettings() },
    `Training ${name} (${model}, ${preset})`);
}

async function resumeCommand(deps: TrainDeps, clicked?: vscode.Uri): Promise<void> {
  if (!trusted() || refuseWhileTraining(deps)) return;
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const runs = (await Promise.all(folders.map((w) => deps.server.client.sendRequest(ListRunsRequest, { workspace: w }).then((r) => r.map((x) => ({ ...x, workspace: w }))))))
    .flat();
  let run = clicked ? runs.find((r) => r.runDir === clicked.fsPath) : undefined;
  if (!run) {
    const active = deps.training.activeRun;
    const items = runs.map((r) => ({
      label: `${r.runDir === active ? '$(debug-restart)' : '$(folder)'} ${r.name}`,
      description: [r.model, r.preset, r.checkpointStep !== undefined ? `checkpoint at step ${r.checkpointStep}/${r.iterations ?? '?'}` : 'no checkpoint: starts from options.json'].filter(Boolean).join(' · '),
      detail: vscode.workspace.asRelativePath(r.runDir),
      run: r,
    })).sort((a, b) => Number(b.run.runDir === active) - Number(a.run.runDir === active));
    if (items.length === 0) {
      void vscode.window.showInformationMessage('Domain Translator: no run folder under .domain-translator/runs in this workspace. "Start Training…" creates one.');
      return;
    }
    run = (await vscode.window.showQuickPick(items, { title: 'Resume Training', placeHolder: 'Run folder: continues its latest complete checkpoint up to its iterations', matchOnDescription: true }))?.run;
  }
  if (!run) return;
  if (!runs.some((r) => isInside(r.workspace, run!.runDir))) return;
  const length = lengthSettings();
  if (run.checkpointStep === undefined) {
    await train(deps, { runDir: run.runDir, workspace: run.workspace, resume: false, fromOptionsFile: true, name: run.name, ...length }, `Training ${run.name} from its options.json`);
  } else {
    await train(deps, { runDir: run.runDir, workspace: run.workspace, resume: true, name: run.name, ...length }, `Resuming ${run.name} from step ${run.checkpointStep}`);
  }
}

export function registerTrainingCommands(deps: TrainDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('domainTranslator.startTraining', (clicked?: vscode.Uri) => startCommand(deps, clicked)),
    vscode.commands.registerCommand('domainTranslator.resumeTraining', (clicked?: vscode.Uri) => resumeCommand(deps, clicked)),
    vscode.commands.registerCommand('domainTranslator.stopTraining', async () => {
      const stopping = await deps.server.client.sendRequest(StopTrainingRequest);
      if (!stopping) void vscode.window.showInformationMessage('Domain Translator: no training is running.');
    }),
    vscode.commands.registerCommand('domainTranslator.showTraining', async () => {
      const runDir = deps.training.activeRun;
      if (runDir) TrainingPanel.show(deps, runDir);
      else void vscode.window.showInformationMessage('Domain Translator: no training run yet. "Start Training…" starts one.');
    }),
  ];
}
