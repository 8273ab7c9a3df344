// Ctrl-C for the long CLI commands: the first asks the work to stop at its next
// safe point, a second exits at once. Only where a signal handler cannot corrupt
// memory (signalHandlersSafe); elsewhere Ctrl-C keeps its default and ends the
// process at once, which loses nothing already written.
import { signalHandlersSafe } from '../models/layers/nativeKernels';

export interface Interrupt {
  /** Whether Ctrl-C was pressed (always false when the handler is not installed). */
  readonly requested: boolean;
  /** Why Ctrl-C ends the process at once here, when it does. */
  readonly unsafe?: string;
  dispose(): void;
}

/** Call after the backend started; `stopping` is printed at the first Ctrl-C. */
export function catchCtrlC(stopping: string): Interrupt {
  if (!signalHandlersSafe()) {
    return {
      requested: false,
      unsafe: 'Ctrl-C ends the process at once: without the native kernels a signal handler can corrupt memory inside TensorFlow (oneDNN)',
      dispose: () => undefined,
    };
  }
  let requested = false;
  const onSigint = (): void => {
    if (requested) process.exit(130);
    requested = true;
    process.stderr.write(`\n${stopping} (Ctrl-C again to quit now)\n`);
  };
  process.on('SIGINT', onSigint);
  return {
    get requested() {
      return requested;
    },
    dispose: () => process.off('SIGINT', onSigint),
  };
}
