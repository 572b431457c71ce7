import { createHash, verify } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { TollgateError } from '../../errors/tollgate-error.js';
import { hashFor } from '../algorithm.js';
import type { ExternalSigningKey } from '../types.js';
import { ecPublicKey, rawToDerSignature } from './ec-public-key.js';
import { loadPkcs11js, type Pkcs11js } from './load-pkcs11js.js';
import { describePkcs11Uri, type Pkcs11Uri } from './uri.js';

export interface OpenPkcs11KeyOptions {
  /** The PIN when the URI has none (from COSIGN_PKCS11_PIN, a flag …). Never printed. */
  pin?: string;
  /** Asked when the token needs a login and no PIN was given (a terminal prompt); without it that is an error. */
  askPin?: (prompt: string) => Promise<string>;
}

const MAX_PIN_FILE_BYTES = 1024;
const PAIRWISE_MESSAGE = Buffer.from('tollgate pkcs11 key pairwise consistency check');

type Pkcs11 = InstanceType<Pkcs11js['PKCS11']>;
type Handle = Buffer;

/** The PKCS#11 return value name of an error from pkcs11js (its message starts with it), e.g. CKR_PIN_INCORRECT. */
function ckr(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /^(CKR_[A-Z_]+)/.exec(message)?.[1] ?? message.split('\n')[0]!.slice(0, 120);
}

/**
 * Opens a signing key on a PKCS#11 token, as cosign's pkcs11key does: loads the module, finds the slot (`slot-id`,
 * else the token by label), logs in with the PIN when the token asks for one, and finds the private key and its
 * public key by `id` (preferred) or `object` label. The public key must be EC P-256 or P-384 and must verify a test
 * signature made on the token. Signing hashes in Node and asks the token for CKM_ECDSA over the digest.
 * Errors: PKCS11_ERROR (module), NOT_FOUND (token, key), WRONG_PASSWORD (PIN refused), PASSWORD_REQUIRED (no PIN),
 * UNSUPPORTED_KEY (not EC, or another curve). No message holds the PIN.
 */
export async function openPkcs11Key(uri: Pkcs11Uri, options: OpenPkcs11KeyOptions = {}): Promise<ExternalSigningKey> {
  const what = `the PKCS#11 key (${describePkcs11Uri(uri)})`;
  const module = await stat(uri.modulePath).catch((error: NodeJS.ErrnoException) => {
    throw new TollgateError('PKCS11_ERROR', `cannot use the PKCS#11 module ${uri.modulePath}: ${error.code ?? error.message}; check module-path or COSIGN_PKCS11_MODULE_PATH`);
  });
  if (!module.isFile()) throw new TollgateError('PKCS11_ERROR', `the PKCS#11 module ${uri.modulePath} is not a regular file; check module-path`);
  const p11 = loadPkcs11js();
  const pkcs11 = new p11.PKCS11();
  try {
    pkcs11.load(uri.modulePath);
  } catch (error) {
    throw new TollgateError('PKCS11_ERROR', `cannot load the PKCS#11 module ${uri.modulePath} (${ckr(error)}); is it a PKCS#11 library?`, { cause: error });
  }
  let initialized = false;
  let session: Handle | undefined;
  const release = () => {
    try {
      if (session !== undefined) pkcs11.C_CloseSession(session);
    } catch {
      // closing is best effort
    }
    session = undefined;
    try {
      if (initialized) pkcs11.C_Finalize();
    } catch {
      // finalising is best effort
    }
    initialized = false;
  };
  try {
    try {
      pkcs11.C_Initialize();
      initialized = true;
    } catch (error) {
      if (ckr(error) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw new TollgateError('PKCS11_ERROR', `the PKCS#11 module ${uri.modulePath} failed to initialise (${ckr(error)})`, { cause: error });
    }
    const slot = findSlot(p11, pkcs11, uri);
    const info = pkcs11.C_GetTokenInfo(slot);
    const tokenName = info.label.trimEnd();
    session = pkcs11.C_OpenSession(slot, p11.CKF_SERIAL_SESSION);
    if ((info.flags & p11.CKF_LOGIN_REQUIRED) !== 0) {
      const pin = await pinFor(uri, options, tokenName);
      try {
        pkcs11.C_Login(session, p11.CKU_USER, pin);
      } catch (error) {
        const code = ckr(error);
        if (code === 'CKR_USER_ALREADY_LOGGED_IN') {
          // Another session of this process logged in: the token is usable.
        } else if (code === 'CKR_PIN_INCORRECT' || code === 'CKR_PIN_LEN_RANGE' || code === 'CKR_PIN_INVALID') {
          throw new TollgateError('WRONG_PASSWORD', `the PKCS#11 token "${tokenName}" refused the PIN (${code}); check pin-value, pin-source or COSIGN_PKCS11_PIN`);
        } else if (code === 'CKR_PIN_LOCKED') {
          throw new TollgateError('WRONG_PASSWORD', `the PIN of PKCS#11 token "${tokenName}" is locked (${code}); unlock it with the security officer PIN`);
        } else {
          throw new TollgateError('PKCS11_ERROR', `logging in to PKCS#11 token "${tokenName}" failed (${code})`, { cause: error });
        }
      }
    }
    const privateKey = findObject(p11, pkcs11, session, uri, p11.CKO_PRIVATE_KEY);
    if (privateKey === undefined) throw new TollgateError('NOT_FOUND', `no private key ${keyName(uri)} on PKCS#11 token "${tokenName}"; check object= or id= (pkcs11-tool --list-objects lists them)`);
    const [keyType] = pkcs11.C_GetAttributeValue(session, privateKey, [{ type: p11.CKA_KEY_TYPE }]);
    if (Buffer.isBuffer(keyType?.value) && keyType.value.readUIntLE(0, Math.min(keyType.value.length, 6)) !== p11.CKK_EC) {
      throw new TollgateError('UNSUPPORTED_KEY', `${what} is not an EC key; tollgate signs with ECDSA P-256 (cosign's default) or P-384`);
    }
    const publicKeyObject = findObject(p11, pkcs11, session, uri, p11.CKO_PUBLIC_KEY);
    if (publicKeyObject === undefined) throw new TollgateError('NOT_FOUND', `no public key ${keyName(uri)} beside the private key on PKCS#11 token "${tokenName}"; the key pair needs both objects (as pkcs11-tool --keypairgen makes)`);
    const [params, point] = pkcs11.C_GetAttributeValue(session, publicKeyObject, [{ type: p11.CKA_EC_PARAMS }, { type: p11.CKA_EC_POINT }]);
    if (!Buffer.isBuffer(params?.value) || !Buffer.isBuffer(point?.value)) throw new TollgateError('INVALID_KEY', `${what}: the token gave no EC parameters or point for the public key`);
    const { algorithm, publicKey } = ecPublicKey(params.value, point.value, what);
    const hash = hashFor(algorithm) ?? 'sha256'; // EC keys always hash
    const live = session;
    const signOnToken = (data: Uint8Array): Uint8Array => {
      if (session === undefined) throw new TollgateError('PKCS11_ERROR', `${what} was closed`);
      const digest = createHash(hash).update(data).digest();
      try {
        pkcs11.C_SignInit(live, { mechanism: p11.CKM_ECDSA }, privateKey);
        const raw = pkcs11.C_Sign(live, digest, Buffer.alloc(algorithm === 'ecdsa-p256' ? 64 : 96));
        return rawToDerSignature(raw);
      } catch (error) {
        if (error instanceof TollgateError) throw error;
        throw new TollgateError('PKCS11_ERROR', `PKCS#11 token "${tokenName}" failed to sign (${ckr(error)})`, { cause: error });
      }
    };
    if (!verify(hash, PAIRWISE_MESSAGE, { key: publicKey, dsaEncoding: 'der' }, signOnToken(PAIRWISE_MESSAGE))) {
      throw new TollgateError('INVALID_KEY', `${what}: the public key object does not match the private key (a test signature does not verify); check that id/label name one key pair`);
    }
    return {
      algorithm,
      publicKey,
      description: `pkcs11 ${describePkcs11Uri(uri)}`,
      sign: async (data) => signOnToken(data),
      close: async () => {
        try {
          if (session !== undefined) pkcs11.C_Logout(session);
        } catch {
          // not logged in, or already out
        }
        release();
      },
    };
  } catch (error) {
    release();
    if (error instanceof TollgateError) throw error;
    throw new TollgateError('PKCS11_ERROR', `PKCS#11 ${describePkcs11Uri(uri)}: ${ckr(error)}`, { cause: error });
  }
}

function keyName(uri: Pkcs11Uri): string {
  return uri.id !== undefined && uri.id.length > 0 ? `with id ${Buffer.from(uri.id).toString('hex')}` : `labelled "${uri.object}"`;
}

function findSlot(p11: Pkcs11js, pkcs11: Pkcs11, uri: Pkcs11Uri): Handle {
  const slots = pkcs11.C_GetSlotList(true);
  if (uri.slotId !== undefined) {
    const wanted = uri.slotId;
    const slot = slots.find((s) => s.length <= 8 && s.readUIntLE(0, Math.min(s.length, 6)) === wanted && (s.length <= 6 || s.subarray(6).every((b) => b === 0)));
    if (slot === undefined) throw new TollgateError('NOT_FOUND', `no PKCS#11 token in slot ${wanted} of ${uri.modulePath}`);
    return slot;
  }
  const labels: string[] = [];
  for (const slot of slots) {
    const label = pkcs11.C_GetTokenInfo(slot).label.trimEnd();
    if (label === uri.token) return slot;
    labels.push(label);
  }
  void p11;
  throw new TollgateError('NOT_FOUND', `no PKCS#11 token labelled "${uri.token}" in ${uri.modulePath}; tokens there: ${labels.length > 0 ? labels.map((l) => `"${l}"`).join(', ') : 'none'}`);
}

function findObject(p11: Pkcs11js, pkcs11: Pkcs11, session: Handle, uri: Pkcs11Uri, objectClass: number): Handle | undefined {
  const template: Array<{ type: number; value: number | Buffer | string }> = [{ type: p11.CKA_CLASS, value: objectClass }];
  if (uri.id !== undefined && uri.id.length > 0) template.push({ type: p11.CKA_ID, value: Buffer.from(uri.id) });
  else template.push({ type: p11.CKA_LABEL, value: uri.object! });
  pkcs11.C_FindObjectsInit(session, template);
  try {
    const found = pkcs11.C_FindObjects(session, 2);
    if (found.length > 1) throw new TollgateError('INVALID_KEY', `more than one key ${keyName(uri)} on the token; name the key by id= to pick one`);
    return found[0];
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

async function pinFor(uri: Pkcs11Uri, options: OpenPkcs11KeyOptions, tokenName: string): Promise<string> {
  if (uri.pinValue !== undefined) return uri.pinValue;
  if (uri.pinSource !== undefined) return readPinFile(uri.pinSource);
  if (options.pin !== undefined) return options.pin;
  if (options.askPin !== undefined) return options.askPin(`Enter PIN for key ${uri.id !== undefined ? Buffer.from(uri.id).toString('hex') : `'${uri.object}'`} in PKCS11 token '${tokenName}': `);
  throw new TollgateError('PASSWORD_REQUIRED', `PKCS#11 token "${tokenName}" needs a PIN: add pin-value= or pin-source=file:<path> to the URI, or set COSIGN_PKCS11_PIN`);
}

async function readPinFile(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.alloc(MAX_PIN_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_PIN_FILE_BYTES) throw new TollgateError('USAGE', `the pin-source file ${path} is larger than ${MAX_PIN_FILE_BYTES} bytes; it should hold only the PIN`);
    return buffer.subarray(0, bytesRead).toString('utf8').replace(/\r?\n$/, '');
  } catch (error) {
    if (error instanceof TollgateError) throw error;
    throw new TollgateError('USAGE', `cannot read the pin-source file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  } finally {
    await handle?.close();
  }
}
