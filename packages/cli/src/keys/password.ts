import { TollgateError } from '@tollgate/core';

/** The password from the environment: TOLLGATE_PASSWORD, else COSIGN_PASSWORD; set-but-empty counts (an explicit empty password). */
export function passwordFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TOLLGATE_PASSWORD ?? env.COSIGN_PASSWORD;
}

/** Whether a password can be asked for interactively: stdin and stderr (where the prompt goes) are both terminals. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Reads one line from the terminal without echoing it (raw mode), the prompt on stderr. Backspace edits;
 * Ctrl-C and Ctrl-D cancel. Never used when stdin is not a terminal.
 */
export function promptPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: TollgateError) => {
      stdin.setRawMode(false);
      stdin.off('data', onData);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new TollgateError('USAGE', 'password entry cancelled'));
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    // Echo goes off before the prompt shows, so nothing typed after the prompt is ever echoed.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/**
 * The password for a new key: from the environment (empty allowed there, because setting it is explicit), else
 * prompted twice on a terminal (must match, must not be empty), else a usage error naming the variables.
 */
export async function newKeyPassword(): Promise<string> {
  const fromEnv = passwordFromEnv();
  if (fromEnv !== undefined) return fromEnv;
  if (!canPrompt()) {
    throw new TollgateError('USAGE', 'no password for the new key: set TOLLGATE_PASSWORD or COSIGN_PASSWORD (empty allowed), or run on a terminal to be prompted');
  }
  const first = await promptPassword('Enter password for private key: ');
  if (first === '') {
    throw new TollgateError('USAGE', 'empty password: to encrypt the key with an empty password, set TOLLGATE_PASSWORD= (empty) explicitly');
  }
  const second = await promptPassword('Enter password for private key again: ');
  if (first !== second) throw new TollgateError('USAGE', 'the two passwords do not match; run the command again');
  return first;
}
