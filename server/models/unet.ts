// UnetGenerator of the official code: nested UnetSkipConnectionBlocks.
// down = LeakyReLU(0.2), conv4 s2 p1, norm; up = ReLU, convT4 s2 p1, norm; the
// outermost block has no LeakyReLU/norm and ends in tanh, the innermost has no
// down-norm. The official LeakyReLU is in place, so the skip connection carries
// LeakyReLU(x); we do the same (the parent's ReLU makes it equal to x anyway),
// and apply it with the parent's down norm (one op with the native kernels).
import * as tf from '@tensorflow/tfjs-core';
import { type ForwardMode, convAt, convTransposeAt, normAt } from './blocks';
import { dropout } from './layers/dropout';
import { leakyRelu, relu } from './layers/relu';
import { type UnetLevel, unetLevels } from './layout';
import type { Params } from './params';
import type { GeneratorSpec } from './spec';

const DOWN = { stride: 2, pad: 1 };
const UP = { stride: 2, pad: 1, outputPadding: 0 };

export function forward(spec: GeneratorSpec, params: Params, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
  const levels = unetLevels(spec);
  const norm = (key: string, t: tf.Tensor4D, slope = 1) => normAt(params, key, t, spec.norm, mode, slope);

  // input: the image at the outermost block; below it the skip connection,
  // the block's input after the LeakyReLU its down path starts with
  const block = (l: number, input: tf.Tensor4D): tf.Tensor4D => {
    const lv: UnetLevel = levels[l];
    const p = lv.prefix;
    if (lv.outermost) {
      const inner = block(l + 1, leakyRelu(convAt(params, `${p}0`, input, DOWN), 0.2));
      return tf.tanh(convTransposeAt(params, `${p}3`, relu(inner), UP));
    }
    const skip = input;
    if (lv.innermost) {
      const down = convAt(params, `${p}1`, skip, DOWN);
      const up = norm(`${p}4`, convTransposeAt(params, `${p}3`, relu(down), UP));
      return tf.concat([skip, up], 3);
    }
    const down = norm(`${p}2`, convAt(params, `${p}1`, skip, DOWN), 0.2);
    let up = norm(`${p}6`, convTransposeAt(params, `${p}5`, relu(block(l + 1, down)), UP));
    if (spec.useDropout && lv.dropoutSlot) up = dropout(up, mode.training, 0.5, mode.dropoutSeed === undefined ? undefined : mode.dropoutSeed + l);
    return tf.concat([skip, up], 3);
  };
  return block(0, x);
}
