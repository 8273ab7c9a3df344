// The fastest of several exact formulations of one computation, per shape,
// timed on this machine. Each candidate runs three times, alternating, on the
// first call's real inputs (tfjs-node runs kernels synchronously, so the wall
// time is the cost); the best time wins and is kept for the process. Later
// calls all use the winner, so results stay reproducible within a process.
import * as tf from '@tensorflow/tfjs-core';

const winners = new Map<string, string>();

export function fastest<C extends string>(computation: string, candidates: C[], run: (candidate: C) => tf.Tensor4D): tf.Tensor4D {
  const key = `${computation} [${candidates.join(', ')}]`;
  let winner = candidates.length === 1 ? candidates[0] : (winners.get(key) as C | undefined);
  if (winner === undefined) {
    const best = new Map<C, number>();
    for (let round = 0; round < 3; round++) {
      for (const c of candidates) {
        const t = performance.now();
        tf.dispose(run(c));
        best.set(c, Math.min(best.get(c) ?? Infinity, performance.now() - t));
      }
    }
    winner = [...best].reduce((a, b) => (b[1] < a[1] ? b : a))[0];
    winners.set(key, winner);
  }
  return run(winner);
}

/** The choices made so far, by key (for the profiler). */
export function fastestChoices(): ReadonlyMap<string, string> {
  return winners;
}
