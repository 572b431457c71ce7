import { CommanderError } from 'commander';
import type { Command } from 'commander';
import { COMMAND_MODULES } from './commands.js';
import { createRootProgram } from './root-program.js';
import { ExitCode } from './exit-code.js';
import { runStatus } from './run-status.js';

/**
 * Runs the CLI and returns the exit status. Actions return their own status (0 or 1); errors map to 1 when they
 * mean a failed check and 2 otherwise, printed as one line that says what happened and what to do.
 */
export async function main(argv: string[]): Promise<number> {
  const program = await programFor(argv.slice(2));
  runStatus.code = ExitCode.Ok;
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return runStatus.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Error;
    }
    // Loaded here, not up front: they need core, which `--version` does not.
    const [{ exitCodeFor }, { errorLine }, { writeErr }] = await Promise.all([
      import('./exit-codes.js'), import('./output/error-line.js'), import('./output/write.js'),
    ]);
    writeErr(errorLine(error));
    return exitCodeFor(error);
  }
}

/**
 * The program for these arguments, with only the modules it needs: `--version` none, a command its own; anything
 * else (`--help`, `help`, no or an unknown command) every command, for the list and the suggestions.
 */
async function programFor(args: string[]): Promise<Command> {
  const first = args[0];
  if (args.length === 1 && (first === '--version' || first === '-v')) return createRootProgram();
  const load = first !== undefined && Object.hasOwn(COMMAND_MODULES, first) ? COMMAND_MODULES[first] : undefined;
  if (load) return createRootProgram().addCommand(await load());
  return (await import('./program.js')).createProgram();
}
