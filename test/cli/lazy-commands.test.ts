import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES } from '../../packages/cli/src/commands.js';
import { createProgram } from '../../packages/cli/src/program.js';
import { createRootProgram } from '../../packages/cli/src/root-program.js';

// main() imports only the module of the command it runs (COMMAND_MODULES); --help and unknown commands build the
// whole program (createProgram). The two must describe the same commands.
describe('lazy command modules', () => {
  it('name every command of the program, in its order', () => {
    expect(Object.keys(COMMAND_MODULES)).toEqual(createProgram().commands.map((command) => command.name()));
  });

  it('give each command as the whole program has it: same name and same help', async () => {
    const full = createProgram();
    for (const [name, load] of Object.entries(COMMAND_MODULES)) {
      const alone = createRootProgram().addCommand(await load());
      const command = alone.commands[0]!;
      expect(command.name()).toBe(name);
      const inFull = full.commands.find((c) => c.name() === name)!;
      expect(command.helpInformation()).toBe(inFull.helpInformation());
      expect(command.commands.map((c) => c.helpInformation())).toEqual(inFull.commands.map((c) => c.helpInformation()));
    }
  });
});
