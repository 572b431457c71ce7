import type { ExternalSigningKey } from '../types.js';
import { openPkcs11Key, type OpenPkcs11KeyOptions } from './pkcs11-key.js';
import { parsePkcs11Uri } from './uri.js';

/** Parses a `pkcs11:` URI (module path from the environment when the URI has none) and opens the key it names. */
export function loadPkcs11Key(uri: string, options: OpenPkcs11KeyOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<ExternalSigningKey> {
  const { env, ...open } = options;
  return openPkcs11Key(parsePkcs11Uri(uri, env), open);
}
