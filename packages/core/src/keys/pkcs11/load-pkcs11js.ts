import { createRequire } from 'node:module';
import { TollgateError } from '../../errors/tollgate-error.js';

export type Pkcs11js = typeof import('pkcs11js');

const require = createRequire(import.meta.url);
let loaded: Pkcs11js | undefined;

/**
 * pkcs11js (a Node-API addon, an optional dependency) is loaded on the first PKCS#11 key only: the CLI starts
 * without it, and everything but PKCS#11 keys works where it did not build.
 */
export function loadPkcs11js(): Pkcs11js {
  if (loaded !== undefined) return loaded;
  try {
    loaded = require('pkcs11js') as Pkcs11js;
    return loaded;
  } catch (error) {
    throw new TollgateError(
      'PKCS11_ERROR',
      'PKCS#11 keys need the optional package pkcs11js, which is not installed or did not build here (it is compiled at install time: it needs python3, make and a C++ compiler); install them and run the install again',
      { cause: error },
    );
  }
}
