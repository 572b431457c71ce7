import { CommanderError } from 'commander';
import { createProgram } from './program.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { errorLine } from './output/error-line.js';
import { writeErr } from './output/write.js';
import { runStatus } from './run-status.js';

/**
 * Runs the CLI and returns the exit status. Actions return their own status (0 or 1); errors map to 1 when they
 * mean a failed check and 2 otherwise, printed as one line that says what happened and what to do.
 */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
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
    writeErr(errorLine(error));
    return exitCodeFor(error);
  }
}
