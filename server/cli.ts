#!/usr/bin/env node
// `domain-translator`: the same engine as the VS Code server, from a shell.
// Errors end in one line `domain-translator: <reason>` on stderr and a
// non-zero exit (2: bad command line, 1: the work failed); no stack traces
// unless DOMAIN_TRANSLATOR_DEBUG is set.
import './tfjsLocation';
import * as tf from '@tensorflow/tfjs-core';
import { version } from '../package.json';
import { UsageError } from './cli/command';
import { COMMANDS } from './cli/commands';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: domain-translator <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run domain-translator <command> --help for its options.',
    '  --version  print the version',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (name === undefined) throw new UsageError('missing command (try domain-translator --help)');
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  return command.run(rest);
}

// Native TensorFlow's C++ start-up logs and tfjs's "install the node backend"
// hint would bury the one line a user needs; the chosen backend is printed instead.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
tf.env().set('PROD', true);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    if (process.env.DOMAIN_TRANSLATOR_DEBUG) process.stderr.write(`${e.stack}\n`);
    const line = e.message.replace(/\s*\n\s*/g, '; ').trim() || e.name;
    process.stderr.write(`domain-translator: ${line}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
