import { open } from 'node:fs/promises';
import { MAX_KEY_INPUT_BYTES, TollgateError, isTollgateError, readPrivateKey, type PrivateSigningKey } from '@tollgate/core';
import { canPrompt, passwordFromEnv, promptPassword } from './password.js';

/** Reads a private key file (bounded), with the password from the environment or, for an encrypted key on a terminal, a prompt. */
export async function loadPrivateKeyFile(path: string): Promise<PrivateSigningKey> {
  const bytes = await readKeyFile(path);
  try {
    return await readPrivateKey(bytes, passwordFromEnv());
  } catch (error) {
    if (!isTollgateError(error, 'PASSWORD_REQUIRED') || !canPrompt()) throw error;
    return readPrivateKey(bytes, await promptPassword(`Enter password for private key ${path}: `));
  }
}

async function readKeyFile(path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new TollgateError('USAGE', `cannot read key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  try {
    const buffer = Buffer.alloc(MAX_KEY_INPUT_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_KEY_INPUT_BYTES) throw new TollgateError('INVALID_KEY', `${path} is larger than ${MAX_KEY_INPUT_BYTES} bytes, too large to be a key file`);
    return buffer.subarray(0, length);
  } catch (error) {
    if (isTollgateError(error)) throw error;
    throw new TollgateError('USAGE', `cannot read key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  } finally {
    await handle.close();
  }
}
