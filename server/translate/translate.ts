// Translate a folder or image files with a model: the engine behind the
// explorer's "Translate to Domain A/B" and `domain-translator translate`.
import type { TranslateParams, TranslateResult } from '../../protocol/server';
import { backendInfo, initBackend } from '../backend';
import { loadGenerator } from '../models/loadModel';
import { planTranslation, runTranslation, type TranslateHooks } from './pipeline';

/**
 * For a .pth the user already chose the checkpoint (G_A or G_B), so
 * `direction` only names the output folder (`-to-B` / `-to-A`); for a run
 * folder the loader picks the generator of that direction.
 */
export async function translate(params: TranslateParams, hooks: TranslateHooks): Promise<TranslateResult> {
  const started = Date.now();
  const backend = backendInfo() ?? (await initBackend());
  // Bad inputs fail before the (slower) model load.
  const plan = await planTranslation(params);
  const { summary, generator } = await loadGenerator(params.model, params.direction);
  try {
    const run = await runTranslation(generator, summary, params, hooks, plan);
    return { ...run, model: summary, seconds: (Date.now() - started) / 1000, backend: backend.name };
  } finally {
    generator.dispose();
  }
}
