// Architecture detection from keys and shapes, the official state_dict layouts,
// parameter conversion both ways, official initialisation, fully convolutional
// inputs, train/eval modes and model loading.
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../server/backend';
import { ModelFileError } from '../../server/io/modelFileError';
import { readPth } from '../../server/io/pth';
import type { StateDict } from '../../server/io/stateDict';
import { detectNetwork } from '../../server/models/detect';
import { expectedParams } from '../../server/models/layout';
import { inspectModel, loadGenerator } from '../../server/models/loadModel';
import { Discriminator, Generator } from '../../server/models/network';
import { initParams, paramsFromStateDict, stateDictFromParams } from '../../server/models/params';
import { type DiscriminatorSpec, type GeneratorSpec, sizeMultiple } from '../../server/models/spec';

const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures');
const PYTORCH = path.join(FIXTURES, 'pytorch');
const TRAIN = path.join(FIXTURES, 'pytorch-train');

const spec = (s: Partial<GeneratorSpec> & Pick<GeneratorSpec, 'netG'>): GeneratorSpec => ({ ngf: 8, norm: 'instance', inputNc: 3, outputNc: 3, useDropout: false, ...s });

before(async () => {
  await initBackend();
});

describe('detectNetwork', () => {
  test('detects each pytorch fixture as its JSON describes it', async () => {
    const want: Record<string, { role: string; spec: GeneratorSpec | DiscriminatorSpec }> = {
      resnet_6blocks_ngf32: { role: 'generator', spec: { netG: 'resnet_6blocks', ngf: 32, norm: 'instance', inputNc: 3, outputNc: 3, useDropout: false } },
      unet_128_ngf16_batch_eval: { role: 'generator', spec: { netG: 'unet_128', ngf: 16, norm: 'batch', inputNc: 3, outputNc: 3, useDropout: true } },
      patchgan_basic_ndf16_in6_batch_eval: { role: 'discriminator', spec: { netD: 'basic', ndf: 16, nLayers: 3, norm: 'batch', inputNc: 6 } },
    };
    for (const [name, expected] of Object.entries(want)) {
      const file = path.join(PYTORCH, `${name}.pth`);
      assert.deepEqual(detectNetwork(await readPth(file), file), expected, name);
      const info = JSON.parse(readFileSync(path.join(PYTORCH, `${name}.json`), 'utf8')) as { params: number; keys: number };
      const summary = await inspectModel(file);
      assert.equal(summary.parameters, info.params, `${name}: parameter count as the official print_network`);
      assert.equal(expectedParams(expected.spec).length, info.keys, `${name}: number of state_dict keys`);
    }
  });

  test('detects the official training inits (CycleGAN resnet_6blocks/basic, pix2pix unet_128/basic)', async () => {
    const cases: [string, unknown][] = [
      ['cyclegan_r6_ngf16_ndf16_64/init_net_G_A.pth', { role: 'generator', spec: { netG: 'resnet_6blocks', ngf: 16, norm: 'instance', inputNc: 3, outputNc: 3, useDropout: false } }],
      ['cyclegan_r6_ngf16_ndf16_64/init_net_G_B.pth', { role: 'generator', spec: { netG: 'resnet_6blocks', ngf: 16, norm: 'instance', inputNc: 3, outputNc: 3, useDropout: false } }],
      ['cyclegan_r6_ngf16_ndf16_64/init_net_D_A.pth', { role: 'discriminator', spec: { netD: 'basic', ndf: 16, nLayers: 3, norm: 'instance', inputNc: 3 } }],
      ['pix2pix_unet128_ngf16_ndf16_128_nodropout/init_net_G.pth', { role: 'generator', spec: { netG: 'unet_128', ngf: 16, norm: 'batch', inputNc: 3, outputNc: 3, useDropout: true } }],
      ['pix2pix_unet128_ngf16_ndf16_128_nodropout/init_net_D.pth', { role: 'discriminator', spec: { netD: 'basic', ndf: 16, nLayers: 3, norm: 'batch', inputNc: 6 } }],
    ];
    for (const [rel, expected] of cases) {
      const file = path.join(TRAIN, rel);
      assert.deepEqual(detectNetwork(await readPth(file), file), expected, rel);
    }
  });

  test('round-trips every architecture and option through its own state dict', () => {
    const specs: (GeneratorSpec | DiscriminatorSpec)[] = [
      spec({ netG: 'resnet_9blocks', norm: 'batch' }),
      spec({ netG: 'resnet_6blocks', useDropout: true }),
      spec({ netG: 'resnet_6blocks', norm: 'none', inputNc: 1, outputNc: 4 }),
      spec({ netG: 'unet_256', norm: 'instance', useDropout: true }),
      spec({ netG: 'unet_128', norm: 'none', useDropout: true }),
      { netD: 'n_layers', ndf: 8, nLayers: 5, norm: 'batch', inputNc: 3 },
      { netD: 'n_layers', ndf: 8, nLayers: 1, norm: 'none', inputNc: 3 },
      { netD: 'basic', ndf: 8, nLayers: 3, norm: 'instance', inputNc: 6 },
      { netD: 'pixel', ndf: 8, nLayers: 0, norm: 'batch', inputNc: 6 },
      { netD: 'pixel', ndf: 8, nLayers: 0, norm: 'instance', inputNc: 3 },
    ];
    for (const s of specs) {
      const params = initParams(s, 1);
      const sd = stateDictFromParams(params);
      assert.deepEqual(detectNetwork(sd, 'x.pth').spec, s);
      tf.dispose([...params.values()]);
    }
  });

  test('accepts the InstanceNorm running statistics old PyTorch versions saved (the official loader drops them too)', async () => {
    const file = path.join(PYTORCH, 'resnet_6blocks_ngf32.pth');
    const sd = await readPth(file);
    sd.set('model.2.running_mean', { shape: [32], data: new Float32Array(32), dtype: 'float32' });
    sd.set('model.2.running_var', { shape: [32], data: new Float32Array(32).fill(1), dtype: 'float32' });
    const detected = detectNetwork(sd, file);
    assert.equal(detected.spec.norm, 'instance');
    const params = paramsFromStateDict(sd, detected.spec, file);
    assert.equal(params.has('model.2.running_mean'), false);
    tf.dispose([...params.values()]);
  });

  test('an unknown architecture, a missing key and a wrong shape are ModelFileErrors naming the file', async () => {
    const alien: StateDict = new Map([['encoder.0.weight', { shape: [8, 3, 3, 3], data: new Float32Array(216), dtype: 'float32' }]]);
    assert.throws(() => detectNetwork(alien, '/m/alien.pth'), (e: unknown) => e instanceof ModelFileError && /^\/m\/alien\.pth: unknown architecture: .*keys like encoder\.0\.weight/.test(e.message));
    const file = path.join(PYTORCH, 'resnet_6blocks_ngf32.pth');
    const missing = await readPth(file);
    missing.delete('model.13.conv_block.5.weight');
    assert.throws(() => detectNetwork(missing, file), /unknown architecture: looks like a resnet_6blocks network but missing model\.13\.conv_block\.5\.weight/);
    const misshapen = await readPth(file);
    misshapen.set('model.4.bias', { shape: [65], data: new Float32Array(65), dtype: 'float32' });
    assert.throws(() => detectNetwork(misshapen, file), /model\.4\.bias has shape \[65\], expected \[64\]/);
    assert.throws(() => paramsFromStateDict(misshapen, spec({ netG: 'resnet_6blocks', ngf: 32 }), file), (e: unknown) => e instanceof ModelFileError && e.file === file);
    const oddBlocks = await readPth(file);
    for (const k of [...oddBlocks.keys()]) if (k.startsWith('model.15.')) oddBlocks.delete(k);
    assert.throws(() => detectNetwork(oddBlocks, file), /ResNet generator with 5 residual blocks/);
  });
});

describe('official layouts', () => {
  test('ResNet keys as the official code numbers them (6 and 9 blocks; dropout shifts the second block conv)', () => {
    const convs = (s: GeneratorSpec) => expectedParams(s).filter((e) => e.kind === 'conv' || e.kind === 'convT').map((e) => e.key.replace(/\.weight$/, ''));
    assert.deepEqual(convs(spec({ netG: 'resnet_6blocks' })), [
      'model.1', 'model.4', 'model.7',
      ...[10, 11, 12, 13, 14, 15].flatMap((i) => [`model.${i}.conv_block.1`, `model.${i}.conv_block.5`]),
      'model.16', 'model.19', 'model.23',
    ]);
    const nine = convs(spec({ netG: 'resnet_9blocks', useDropout: true }));
    assert.deepEqual(nine.slice(3, 5), ['model.10.conv_block.1', 'model.10.conv_block.6']);
    assert.deepEqual(nine.slice(-3), ['model.19', 'model.22', 'model.26']);
  });

  test('U-Net keys nest as model.model.1.model.3.model.…, with the state_dict order torch.save writes', async () => {
    const file = path.join(PYTORCH, 'unet_128_ngf16_batch_eval.pth');
    const sd = await readPth(file);
    assert.deepEqual(expectedParams(spec({ netG: 'unet_128', ngf: 16, norm: 'batch' })).map((e) => e.key), [...sd.keys()]);
  });

  test('state dict → params → state dict gives back the same keys, order, shapes, values and dtypes', async () => {
    for (const name of ['resnet_6blocks_ngf32', 'unet_128_ngf16_batch_eval', 'patchgan_basic_ndf16_in6_batch_eval']) {
      const file = path.join(PYTORCH, `${name}.pth`);
      const sd = await readPth(file);
      const params = paramsFromStateDict(sd, detectNetwork(sd, file).spec, file);
      const back = stateDictFromParams(params);
      assert.deepEqual([...back.keys()], [...sd.keys()], name);
      for (const [k, v] of sd) {
        const b = back.get(k)!;
        assert.deepEqual(b.shape, v.shape, k);
        assert.deepEqual(b.data, v.data, k);
        assert.equal(b.dtype, v.dtype, k);
      }
      // tfjs layouts: Conv2d [out,in,kh,kw] → [kh,kw,in,out], ConvTranspose2d [in,out,kh,kw] → [kh,kw,out,in]
      for (const [k, v] of sd) {
        if (v.shape.length !== 4) continue;
        const [a, b, kh, kw] = v.shape;
        assert.deepEqual(params.get(k)!.shape, [kh, kw, b, a], k);
      }
      for (const [k, v] of params) assert.equal(v.trainable, !/running_|num_batches/.test(k), k);
      tf.dispose([...params.values()]);
    }
  });
});

describe('initParams', () => {
  test('official normal init (std 0.02, BatchNorm weight around 1, zero biases), reproducible by seed', () => {
    const s = spec({ netG: 'unet_128', ngf: 8, norm: 'batch' });
    const [a, b, c] = [7, 7, 8].map((seed) => {
      const params = initParams(s, seed);
      const sd = stateDictFromParams(params);
      tf.dispose([...params.values()]);
      return sd;
    });
    const stats = (kind: string) => {
      let n = 0;
      let sum = 0;
      let sq = 0;
      for (const e of expectedParams(s)) {
        if (e.kind !== kind) continue;
        for (const v of a.get(e.key)!.data) {
          n++;
          sum += v;
          sq += v * v;
        }
      }
      const mean = sum / n;
      return { mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
    };
    for (const kind of ['conv', 'convT']) {
      const { mean, std } = stats(kind);
      assert.ok(Math.abs(mean) < 1e-3 && Math.abs(std - 0.02) < 5e-4, `${kind}: mean ${mean}, std ${std}`);
    }
    const bn = stats('bnWeight');
    assert.ok(Math.abs(bn.mean - 1) < 5e-3 && Math.abs(bn.std - 0.02) < 5e-3, `BatchNorm weight: mean ${bn.mean}, std ${bn.std}`);
    for (const kind of ['bias', 'bnBias', 'bnMean', 'bnCount']) assert.equal(stats(kind).std, 0, kind);
    assert.equal(stats('bnVar').mean, 1);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.get('model.model.0.weight')!.data, c.get('model.model.0.weight')!.data);
  });
});

describe('Generator and Discriminator', () => {
  test('fully convolutional: ResNet on 68x72, U-Net 128 on 128x256, PatchGAN on 64x96', () => {
    const resnet = Generator.init(spec({ netG: 'resnet_6blocks' }), 1);
    const unet = Generator.init(spec({ netG: 'unet_128', norm: 'batch', useDropout: true }), 2);
    const patch = Discriminator.init({ netD: 'basic', ndf: 8, nLayers: 3, norm: 'instance', inputNc: 3 }, 3);
    tf.tidy(() => {
      const r = resnet.apply(tf.randomUniform([1, 68, 72, 3], -1, 1) as tf.Tensor4D, { training: false });
      assert.deepEqual(r.shape, [1, 68, 72, 3]);
      const v = r.dataSync();
      assert.ok(v.every((x) => x >= -1 && x <= 1) && v.some((x) => x !== 0), 'tanh output in [-1, 1]');
      assert.deepEqual(unet.apply(tf.randomUniform([2, 128, 256, 3], -1, 1) as tf.Tensor4D, { training: true }).shape, [2, 128, 256, 3]);
      assert.deepEqual(patch.apply(tf.randomUniform([1, 64, 96, 3], -1, 1) as tf.Tensor4D, { training: false }).shape, [1, 6, 10, 1]);
    });
    assert.equal(sizeMultiple(resnet.spec), 4);
    assert.equal(sizeMultiple(unet.spec), 128);
    assert.equal(sizeMultiple(spec({ netG: 'unet_256' })), 256);
    assert.throws(() => resnet.apply(tf.zeros([1, 66, 72, 3]) as tf.Tensor4D, { training: false }), /multiples of 4, got 66x72/);
    assert.throws(() => unet.apply(tf.zeros([1, 128, 192, 3]) as tf.Tensor4D, { training: false }), /multiples of 128/);
    assert.throws(() => resnet.apply(tf.zeros([1, 64, 64, 1]) as tf.Tensor4D, { training: false }), /takes \[N, H, W, 3\] input/);
    resnet.dispose();
    unet.dispose();
    patch.dispose();
  });

  test('BatchNorm: train mode uses batch statistics; only updateStats moves the running statistics', async () => {
    const file = path.join(PYTORCH, 'unet_128_ngf16_batch_eval.pth');
    const sd = await readPth(file);
    const g = Generator.fromStateDict(sd, { ...(detectNetwork(sd, file).spec as GeneratorSpec), useDropout: false }, file);
    const key = 'model.model.1.model.2';
    const snapshot = () => ({ mean: [...g.params.get(`${key}.running_mean`)!.dataSync()], count: g.params.get(`${key}.num_batches_tracked`)!.dataSync()[0] });
    const before0 = snapshot();
    tf.tidy(() => {
      const x = tf.randomUniform([1, 128, 128, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
      const evalOut = g.apply(x, { training: false });
      const trainOut = g.apply(x, { training: true });
      assert.ok(tf.max(tf.abs(tf.sub(evalOut, trainOut))).dataSync()[0] > 1e-4, 'batch statistics change the output');
      assert.deepEqual(snapshot(), before0, 'inference leaves running statistics alone');
      g.apply(x, { training: true, updateStats: true });
    });
    const after = snapshot();
    assert.equal(after.count, before0.count + 1);
    assert.ok(after.mean.some((m, i) => Math.abs(m - before0.mean[i]) > 1e-6), 'running mean moved');
    g.dispose();
  });

  test('dropout is active in train mode only', () => {
    const g = Generator.init(spec({ netG: 'resnet_6blocks', useDropout: true }), 4);
    tf.tidy(() => {
      const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
      const diff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
      assert.equal(diff(g.apply(x, { training: false }), g.apply(x, { training: false })), 0);
      assert.ok(diff(g.apply(x, { training: true }), g.apply(x, { training: true })) > 0);
    });
    g.dispose();
  });
});

describe('loadModel', () => {
  test('inspectModel summarises a .pth; loadGenerator refuses a discriminator, plain folders and foreign JSON', async () => {
    const gen = await inspectModel(path.join(PYTORCH, 'resnet_6blocks_ngf32.pth'));
    assert.deepEqual(gen, {
      path: path.join(PYTORCH, 'resnet_6blocks_ngf32.pth'),
      format: 'pth',
      architecture: 'resnet_6blocks',
      role: 'generator',
      ngf: 32,
      norm: 'instance',
      inputNc: 3,
      outputNc: 3,
      parameters: 1965059,
      sizeMultiple: 4,
    });
    const d = path.join(PYTORCH, 'patchgan_basic_ndf16_in6_batch_eval.pth');
    assert.equal((await inspectModel(d)).role, 'discriminator');
    await assert.rejects(loadGenerator(d, 'AtoB'), (e: unknown) => e instanceof ModelFileError && /is a discriminator \(basic\), not a generator/.test(e.message));
    await assert.rejects(inspectModel(PYTORCH), /is a folder but neither a training run folder .* nor a tfjs model folder/);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dt-models-'));
    const json = path.join(dir, 'model.json');
    await fs.writeFile(json, '{}');
    await assert.rejects(inspectModel(json), /not a Domain Translator tfjs model \(no domainTranslator block\)/);
    await assert.rejects(inspectModel(path.join(dir, 'missing.pth')), /missing\.pth: cannot read \(ENOENT\)/);
    await fs.rm(dir, { recursive: true });
    const { summary, generator } = await loadGenerator(path.join(PYTORCH, 'unet_128_ngf16_batch_eval.pth'), 'BtoA');
    assert.equal(summary.architecture, 'unet_128');
    assert.equal(generator.parameterCount(), 2617507);
    generator.dispose();
  });
});
