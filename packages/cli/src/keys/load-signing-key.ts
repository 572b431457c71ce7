import { kmsNotSupported, kmsScheme, loadPkcs11Key, type SigningKey } from '@tollgate/core';
import { releaseWhenCommandEnds } from '../command-resources.js';
import { loadPrivateKeyFile } from './load-private-key-file.js';
import { canPrompt, promptPassword } from './password.js';

/**
 * The key `--key` names: a `pkcs11:` URI (a key on a token; PIN from the URI's pin-value or pin-source, else
 * TOLLGATE_PKCS11_PIN or COSIGN_PKCS11_PIN, else asked on a terminal, as cosign does), a KMS URI (refused: not
 * supported), or a key file. A token's key holds a login, a session and the loaded module until closed: closed when
 * the command ends, whatever the outcome (a second close, as public-key's, does nothing).
 */
export async function loadSigningKey(reference: string, env: NodeJS.ProcessEnv = process.env): Promise<SigningKey> {
  const kms = kmsScheme(reference);
  if (kms !== undefined) throw kmsNotSupported(kms);
  if (/^pkcs11:/i.test(reference)) {
    const pin = [env.TOLLGATE_PKCS11_PIN, env.COSIGN_PKCS11_PIN].find((p) => p !== undefined && p !== '');
    const key = await loadPkcs11Key(reference, { env, ...(pin !== undefined ? { pin } : {}), ...(canPrompt() ? { askPin: promptPassword } : {}) });
    releaseWhenCommandEnds(() => key.close());
    return key;
  }
  return loadPrivateKeyFile(reference);
}
