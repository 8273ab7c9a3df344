// One build script for every bundle: the extension host, the server (also the
// CLI's engine), and one browser bundle per webview panel.
import * as esbuild from 'esbuild';
import { chmodSync, readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// Native or wasm-loading modules stay outside the bundle and are resolved from
// node_modules at run time; tfjs-core must be one instance shared with the
// backends that register on it, so it stays outside too.
const serverExternals = ['sharp', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node'];

// tfjs-core ships its gradient registrations only as extensionless ES modules
// (dist/register_all_gradients.js) that Node cannot load from the bundle, so
// that entry is bundled; the copy registers into tfjs-core's global registries.
const bundleTfjsGradients = {
  name: 'bundle-tfjs-gradients',
  setup(build) {
    build.onResolve({ filter: /^@tensorflow\/tfjs-core\/dist\/register_all_gradients$/ }, () =>
      ({ path: path.resolve('node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js') }));
  },
};

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };

const panels = readdirSync('webview').filter((d) => d !== 'common' && existsSync(`webview/${d}/main.ts`));

const builds = [
  { ...common, entryPoints: { extension: 'extension/main.ts' }, outdir: 'dist', platform: 'node', format: 'cjs',
    target: 'node20', external: ['vscode'] },
  { ...common, entryPoints: { server: 'server/main.ts', cli: 'server/cli.ts' }, outdir: 'dist', platform: 'node',
    format: 'cjs', target: 'node20', external: serverExternals, plugins: [bundleTfjsGradients],
    // ESM entry points first: UMD builds (jsonc-parser's) hide their requires from the bundler.
    mainFields: ['module', 'main'] },
  { ...common, entryPoints: Object.fromEntries(panels.map((p) => [p, `webview/${p}/main.ts`])),
    outdir: 'dist/webview', platform: 'browser', format: 'iife', target: 'es2022',
    loader: { '.ttf': 'file' } },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('watching…');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
}
