// Lets the server use TensorFlow.js packages installed outside the extension
// (DOMAIN_TRANSLATOR_TFJS_DIR, set from the domainTranslator.tfjsDirectory
// setting): the packaged extension cannot carry tfjs-node's ~600 MB native
// library, but a folder where `npm install @tensorflow/tfjs-node@4.22.0` ran
// can provide it. Every '@tensorflow/*' module then resolves from that folder,
// so tfjs-core stays one instance shared with the backends registered on it.
// Must be the first module the server and the CLI evaluate.
import Module from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

type Resolve = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

/** Why the folder was not used, or undefined when it is in use (or none was set). */
export let tfjsDirectoryProblem: string | undefined;

function install(dir: string): void {
  const core = path.join(dir, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json');
  let version: string | undefined;
  try {
    version = JSON.parse(fs.readFileSync(core, 'utf8')).version;
  } catch {
    tfjsDirectoryProblem = `${dir}: no node_modules/@tensorflow/tfjs-core there`;
    return;
  }
  // The bundles are built against one tfjs version; another may not match our kernels.
  const wanted = '4.22.0';
  if (version !== wanted) {
    tfjsDirectoryProblem = `${dir}: has tfjs-core ${version}, needs ${wanted}`;
    return;
  }
  const mod = Module as unknown as { _resolveFilename: Resolve };
  const original = mod._resolveFilename;
  const paths = [dir];
  mod._resolveFilename = function (request, parent, isMain, options) {
    if (request.startsWith('@tensorflow/')) {
      try {
        // The original resolver with explicit paths (require.resolve would re-enter this hook).
        return original.call(this, request, parent, isMain, { paths });
      } catch {
        /* not there: resolve as usual */
      }
    }
    return original.call(this, request, parent, isMain, options);
  };
}

const dir = process.env.DOMAIN_TRANSLATOR_TFJS_DIR;
if (dir) install(path.resolve(dir));
