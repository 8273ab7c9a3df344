// The CLI's subcommands. To add one (train, scan, ...), write it in its own
// file under server/cli/ as a `Command` and list it here.
import type { Command } from './command';
import { exportCommand } from './export';
import { scanCommand } from './scan';
import { trainCommand } from './train';
import { translateCommand } from './translateCommand';

export const COMMANDS: Command[] = [translateCommand, trainCommand, scanCommand, exportCommand];
