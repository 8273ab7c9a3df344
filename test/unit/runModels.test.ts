// Training run folders and exported tfjs models as translate models: a tiny
// CycleGAN run translates with G_A (AtoB) and G_B (BtoA); its export (.pth and
// tfjs) gives the same outputs as the checkpoint; broken model.json files and
// run folders are clear ModelFileErrors.
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { initBackend } from '../../server/backend';
import { ModelFileError } from '../../server/io/modelFileError';
import { inspectModel, loadGenerator } from '../../server/models/loadModel';
import type { Generator } from '../../server/models/network';
import { exportRun } from '../../server/train/export';
import { startTraining } from '../../server/train/session';
import { translate } from '../../server/translate/translate';

const REPO = path.resolve(__dirname, '../..');
const DATA = path.resolve(REPO, '../shared/datasets');
const tiny = { crop_size: 32, load_size: 36, ngf: 8, ndf: 8, print_every: 1, sample_every: 100, save_every: 1 };
const exec = promisify(execFile);

let root: string;
let cycleRun: string;
let pix2pixRun: string;

/** Eval-mode output (running statistics, no dropout) on a fixed random input. */
function output(g: Generator, side: number): Float32Array {
  return tf.tidy(() => g.apply(tf.randomUniform([1, side, side, 3], -1, 1, 'float32', 1) as tf.Tensor4D, { training: false }).dataSync() as Float32Array);
}

async function outputOf(model: string, direction: 'AtoB' | 'BtoA' = 'AtoB', side = 32): Promise<Float32Array> {
  const { generator } = await loadGenerator(model, direction);
  try {
    return output(generator, side);
  } finally {
    generator.dispose();
  }
}

const isModelError = (re: RegExp) => (e: unknown) => e instanceof ModelFileError && re.test(e.message);

before(async () => {
  await initBackend();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-runmodels-'));
  cycleRun = path.join(root, 'cycle');
  pix2pixRun = path.join(root, 'p2p');
  const cycle = await startTraining({ dataroot: path.join(DATA, 'horse2zebra-mini'), model: 'cyclegan', iterations: 2, run: cycleRun, ...tiny });
  assert.equal(cycle.exportDir, path.join(cycleRun, 'export'));
  await startTraining({ dataroot: path.join(DATA, 'facades'), model: 'pix2pix', direction: 'BtoA', iterations: 1, run: pix2pixRun, ...tiny, crop_size: 128, load_size: 128, ngf: 4, ndf: 4, netG: 'unet_128' });
});

describe('run folder as a model', () => {
  test('a CycleGAN run translates AtoB with G_A and BtoA with G_B of checkpoints/latest', async () => {
    const a = await inspectModel(cycleRun, 'AtoB');
    assert.deepEqual([a.format, a.network, a.architecture, a.ngf, a.role], ['run', 'G_A', 'resnet_6blocks', 8, 'generator']);
    assert.equal((await inspectModel(cycleRun, 'BtoA')).network, 'G_B');
    const latest = path.join(cycleRun, 'checkpoints/latest');
    assert.deepEqual(await outputOf(cycleRun, 'AtoB'), await outputOf(path.join(latest, 'latest_net_G_A.pth')));
    assert.deepEqual(await outputOf(cycleRun, 'BtoA'), await outputOf(path.join(latest, 'latest_net_G_B.pth')));
    assert.notDeepEqual(await outputOf(cycleRun, 'AtoB'), await outputOf(cycleRun, 'BtoA'));

    const quiet = { onProgress() {}, isCancelled: () => false };
    for (const [direction, input] of [['AtoB', 'testA'], ['BtoA', 'testB']] as const) {
      const outDir = path.join(root, `out-${direction}`);
      const r = await translate({ inputs: [path.join(DATA, 'horse2zebra-mini', input)], model: cycleRun, direction, outDir, eval: false, keepSize: false }, quiet);
      assert.equal(r.model.network, direction === 'AtoB' ? 'G_A' : 'G_B');
      assert.ok(r.translated.length >= 3, `${r.translated.length} images translated`);
      assert.deepEqual(r.unreadable, []);
      assert.equal((await fs.readdir(outDir)).filter((f) => f.endsWith('.png')).length, r.translated.length);
    }
  });

  test('a pix2pix run translates its own direction with G and refuses the other', async () => {
    const s = await inspectModel(pix2pixRun, 'BtoA');
    assert.deepEqual([s.format, s.network, s.architecture, s.norm], ['run', 'G', 'unet_128', 'batch']);
    // without a direction (the extension's model picker) a run is summarised by its first generator
    assert.deepEqual(await inspectModel(pix2pixRun), s);
    assert.equal((await inspectModel(cycleRun)).network, 'G_A');
    await assert.rejects(loadGenerator(pix2pixRun, 'AtoB'), isModelError(/pix2pix run learned BtoA only .* cannot translate AtoB/));
  });

  test('a run folder without a complete checkpoint, or with a broken options.json, is a clear error', async () => {
    const broken = path.join(root, 'broken-run');
    await fs.cp(cycleRun, broken, { recursive: true });
    // an altered file makes the checkpoint invalid: it is never used
    const pth = path.join(broken, 'checkpoints/latest/latest_net_G_A.pth');
    const buf = await fs.readFile(pth);
    await fs.writeFile(pth, buf.subarray(0, buf.length - 10));
    await assert.rejects(inspectModel(broken), isModelError(/without a complete checkpoint/));
    await fs.writeFile(path.join(broken, 'options.json'), '{"model": "cyclegan", "netG": "resnet_12blocks", "ngf": "8", "input_nc": 3, "output_nc": 3, "norm": "instance"}');
    await assert.rejects(inspectModel(broken), isModelError(/options\.json: cannot tell the generator: invalid netG "resnet_12blocks", ngf "8"/));
    await fs.writeFile(path.join(broken, 'options.json'), '{"model": ');
    await assert.rejects(inspectModel(broken), isModelError(/options\.json: not valid JSON/));
    const plain = path.join(root, 'plain-folder');
    await fs.mkdir(plain);
    await assert.rejects(inspectModel(plain), isModelError(/neither a training run folder .* nor a tfjs model folder/));
  });
});

describe('export', () => {
  test('the end-of-run export holds official .pth files and tfjs models that give identical outputs', async () => {
    const exp = path.join(cycleRun, 'export');
    assert.deepEqual((await fs.readdir(exp)).sort(), ['latest_net_G_A.pth', 'latest_net_G_B.pth', 'tfjs-G_A', 'tfjs-G_B']);
    assert.deepEqual((await fs.readdir(path.join(exp, 'tfjs-G_A'))).sort(), ['group1-shard1of1.bin', 'model.json']);
    for (const g of ['G_A', 'G_B']) {
      const fromRun = await outputOf(cycleRun, g === 'G_A' ? 'AtoB' : 'BtoA');
      const pth = path.join(exp, `latest_net_${g}.pth`);
      const json = path.join(exp, `tfjs-${g}`, 'model.json');
      assert.deepEqual(await outputOf(pth), fromRun);
      assert.deepEqual(await outputOf(json), fromRun);
      // the folder holding model.json is accepted too
      assert.deepEqual(await outputOf(path.dirname(json)), fromRun);
      const summary = await inspectModel(json);
      assert.deepEqual([summary.format, summary.network, summary.architecture, summary.parameters], ['tfjs', g, 'resnet_6blocks', (await inspectModel(pth)).parameters]);
    }
    const manifest = JSON.parse(await fs.readFile(path.join(exp, 'tfjs-G_A/model.json'), 'utf8')) as {
      weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
      domainTranslator: { spec: { netG: string }; step: number };
    };
    assert.deepEqual(manifest.weightsManifest[0].paths, ['group1-shard1of1.bin']);
    assert.deepEqual(manifest.weightsManifest[0].weights[0], { name: 'model.1.weight', shape: [7, 7, 3, 8], dtype: 'float32' });
    assert.deepEqual([manifest.domainTranslator.spec.netG, manifest.domainTranslator.step], ['resnet_6blocks', 2]);
  });

  test('a pix2pix export (U-Net, batch norm with its int counters) round-trips through tfjs', async () => {
    const out = path.join(root, 'p2p-export');
    const r = await exportRun(pix2pixRun, { out });
    assert.deepEqual(r.files, ['latest_net_G.pth', 'tfjs-G/model.json', 'tfjs-G/group1-shard1of1.bin']);
    const viaTfjs = await outputOf(path.join(out, 'tfjs-G/model.json'), 'BtoA', 128);
    assert.deepEqual(viaTfjs, await outputOf(path.join(out, 'latest_net_G.pth'), 'BtoA', 128));
    assert.deepEqual(viaTfjs, await outputOf(pix2pixRun, 'BtoA', 128));
    await assert.rejects(exportRun(pix2pixRun, { out }), /already exists and is not empty; exports never overwrite/);
  });

  test('CLI: domain-translator export --format tfjs --out', async () => {
    const out = path.join(root, 'cli-export');
    const r = await exec(process.execPath, ['--import', 'tsx', path.join(REPO, 'server/cli.ts'), 'export', cycleRun, '--format', 'tfjs', '--out', out], { cwd: REPO });
    assert.match(r.stdout, /exported step 2 to .*cli-export/);
    assert.deepEqual((await fs.readdir(out)).sort(), ['tfjs-G_A', 'tfjs-G_B']);
    const bad = await exec(process.execPath, ['--import', 'tsx', path.join(REPO, 'server/cli.ts'), 'export', root], { cwd: REPO }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((bad as { code: number }).code, 1);
    assert.match((bad as { stderr: string }).stderr, /^domain-translator: .*dt-runmodels-\w+: not a training run folder \(no options\.json\)\n$/);
  });
});

describe('broken tfjs models', () => {
  async function copyModel(name: string): Promise<string> {
    const dir = path.join(root, name);
    await fs.cp(path.join(cycleRun, 'export/tfjs-G_A'), dir, { recursive: true });
    return path.join(dir, 'model.json');
  }
  async function editJson(file: string, edit: (j: Record<string, unknown> & { domainTranslator: { spec: Record<string, unknown> }; weightsManifest: { weights: { name: string; shape: number[] }[] }[] }) => void): Promise<void> {
    const j = JSON.parse(await fs.readFile(file, 'utf8'));
    edit(j);
    await fs.writeFile(file, JSON.stringify(j));
  }

  test('missing weights file', async () => {
    const file = await copyModel('no-weights');
    await fs.rm(path.join(path.dirname(file), 'group1-shard1of1.bin'));
    await assert.rejects(inspectModel(file), isModelError(/model\.json: weights file group1-shard1of1\.bin cannot be read \(ENOENT\)/));
  });

  test('weights file of the wrong size', async () => {
    const file = await copyModel('short-weights');
    const bin = path.join(path.dirname(file), 'group1-shard1of1.bin');
    const buf = await fs.readFile(bin);
    await fs.writeFile(bin, buf.subarray(0, buf.length - 4));
    await assert.rejects(loadGenerator(file, 'AtoB'), isModelError(new RegExp(`holds ${buf.length - 4} bytes, the manifest describes ${buf.length}`)));
  });

  test('weights that do not fit the spec', async () => {
    const file = await copyModel('wrong-shapes');
    await editJson(file, (j) => {
      j.domainTranslator.spec.ngf = 16;
    });
    await assert.rejects(inspectModel(file), isModelError(/weights do not match a resnet_6blocks generator \(ngf 16.*model\.1\.weight has shape \[8, 3, 7, 7\], expected \[16, 3, 7, 7\]/));
  });

  test('unknown architecture, a tfjs layers model, not JSON', async () => {
    const file = await copyModel('unknown-arch');
    await editJson(file, (j) => {
      j.domainTranslator.spec.netG = 'resnet_12blocks';
    });
    await assert.rejects(inspectModel(file), isModelError(/unknown architecture "resnet_12blocks"/));
    await editJson(file, (j) => {
      delete (j as { domainTranslator?: unknown }).domainTranslator;
      j.modelTopology = {};
    });
    await assert.rejects(inspectModel(file), isModelError(/a tfjs layers\/graph model; only generators exported by Domain Translator/));
    await fs.writeFile(file, '{"weightsManifest": [');
    await assert.rejects(inspectModel(file), isModelError(/model\.json: not valid JSON/));
  });
});
