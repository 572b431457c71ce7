import { TollgateError } from '../../errors/tollgate-error.js';
import { shown } from '../../reference/grammar.js';

/** A parsed `pkcs11:` key URI (RFC 7512), as cosign writes them: which module, token and key, and the PIN if given. */
export interface Pkcs11Uri {
  /** `module-path` (query), else the module path from the environment; absolute. */
  modulePath: string;
  /** `token` (path): the token label. */
  token?: string;
  /** `slot-id` (path): a slot number; takes precedence over `token`, as in cosign. */
  slotId?: number;
  /** `object` (path): the key's CKA_LABEL. */
  object?: string;
  /** `id` (path): the key's CKA_ID bytes; takes precedence over `object`, as in cosign. */
  id?: Uint8Array;
  /** `pin-value` (query). Never printed. */
  pinValue?: string;
  /** `pin-source` (query): `file:<absolute path>` or an absolute path (RFC 7512). */
  pinSource?: string;
}

export const MAX_PKCS11_URI_LENGTH = 4096;

const PATH_ATTRIBUTES = new Set(['token', 'slot-id', 'object', 'id', 'type', 'manufacturer', 'model', 'serial', 'slot-description', 'slot-manufacturer', 'library-manufacturer', 'library-description', 'library-version']);
const QUERY_ATTRIBUTES = new Set(['module-path', 'module-name', 'pin-value', 'pin-source']);
const NAME = /^[a-z][a-z0-9-]*$/;

function fail(why: string): never {
  throw new TollgateError('USAGE', `invalid PKCS#11 key URI: ${why}; write pkcs11:token=<label>;object=<key label>?module-path=<absolute path of the module .so>[&pin-value=<pin>]`);
}

/** Percent-decodes an attribute value to bytes; a `%` not followed by two hex digits is an error. */
function decode(value: string, name: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25) {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail(`the value of "${name}" has a "%" that is not followed by two hex digits`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x21 || c > 0x7e) {
      fail(`the value of "${name}" holds a space or a character outside printable ASCII; percent-encode it`);
    } else {
      bytes.push(c);
    }
  }
  return Uint8Array.from(bytes);
}

function text(bytes: Uint8Array, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail(`the value of "${name}" is not UTF-8 once decoded`);
  }
}

function attributes(part: string, separator: string, known: Set<string>, where: 'path' | 'query'): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (part === '') return out;
  for (const item of part.split(separator)) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    // Only the name is ever shown (a value may be a PIN), and only once it passed the name grammar or escaped.
    if (eq <= 0) fail(`an item of the ${where} is not name=value`);
    const name = item.slice(0, eq).toLowerCase();
    if (!NAME.test(name)) fail(`${shown(name, 40).replace(/[\u2028\u2029]/g, '?')} is not an attribute name`);
    if (!known.has(name) && !name.startsWith('x-')) {
      const other = where === 'path' ? QUERY_ATTRIBUTES : PATH_ATTRIBUTES;
      fail(other.has(name) ? `"${name}" belongs in the ${where === 'path' ? 'query (after "?", joined by "&")' : 'path (before "?", joined by ";")'}` : `unknown ${where} attribute "${name.slice(0, 40)}"`);
    }
    if (out.has(name)) fail(`"${name}" is given twice`);
    out.set(name, decode(item.slice(eq + 1), name));
  }
  return out;
}

/**
 * Parses a PKCS#11 URI strictly: `pkcs11:` then `;`-separated path attributes, optionally `?` and `&`-separated
 * query attributes, values percent-decoded. A token (`token` or `slot-id`) and a key (`object` or `id`) are required;
 * the module comes from `module-path` or, as in cosign, the environment (TOLLGATE_PKCS11_MODULE_PATH, then
 * COSIGN_PKCS11_MODULE_PATH) and must be an absolute path. Any problem is one USAGE line that never repeats a PIN.
 */
export function parsePkcs11Uri(input: string, env: NodeJS.ProcessEnv = process.env): Pkcs11Uri {
  if (typeof input !== 'string') fail('not a string');
  if (input.length > MAX_PKCS11_URI_LENGTH) fail(`longer than ${MAX_PKCS11_URI_LENGTH} characters`);
  if (!/^pkcs11:/i.test(input)) fail('it does not start with "pkcs11:"');
  const rest = input.slice('pkcs11:'.length);
  if (rest.includes('#')) fail('a "#" fragment is not allowed');
  const q = rest.indexOf('?');
  const path = attributes(q < 0 ? rest : rest.slice(0, q), ';', PATH_ATTRIBUTES, 'path');
  const query = attributes(q < 0 ? '' : rest.slice(q + 1), '&', QUERY_ATTRIBUTES, 'query');

  const uri: Partial<Pkcs11Uri> = {};
  const token = path.get('token');
  if (token !== undefined) uri.token = text(token, 'token');
  const slot = path.get('slot-id');
  if (slot !== undefined) {
    const value = text(slot, 'slot-id');
    if (!/^(?:0|[1-9][0-9]{0,9})$/.test(value) || Number(value) > 0xffffffff) fail('"slot-id" must be a decimal slot number');
    uri.slotId = Number(value);
  }
  const object = path.get('object');
  if (object !== undefined) uri.object = text(object, 'object');
  const id = path.get('id');
  if (id !== undefined) uri.id = id;
  const type = path.get('type');
  if (type !== undefined && !['private', 'public'].includes(text(type, 'type'))) fail('"type" may only be private (the signing key) or public');
  if (uri.token === undefined && uri.slotId === undefined) fail('name the token with "token=<label>" or "slot-id=<number>"');
  if ((uri.object === undefined || uri.object === '') && (uri.id === undefined || uri.id.length === 0)) fail('name the key with "object=<label>" or "id=<%xx bytes>"');
  if (query.has('module-name')) fail('"module-name" is not supported; give the module as "module-path=<absolute path>"');
  const pinValue = query.get('pin-value');
  if (pinValue !== undefined) uri.pinValue = text(pinValue, 'pin-value');
  const pinSource = query.get('pin-source');
  if (pinSource !== undefined) {
    if (pinValue !== undefined) fail('give "pin-value" or "pin-source", not both');
    const source = text(pinSource, 'pin-source');
    const file = source.startsWith('file:') ? source.slice('file:'.length) : source;
    if (!file.startsWith('/')) fail('"pin-source" must be file:<absolute path> of a file holding the PIN');
    uri.pinSource = file;
  }
  const modulePath = query.has('module-path') ? text(query.get('module-path')!, 'module-path') : env.TOLLGATE_PKCS11_MODULE_PATH ?? env.COSIGN_PKCS11_MODULE_PATH;
  if (modulePath === undefined || modulePath === '') fail('no module: add "module-path=<absolute path of the PKCS#11 module>" or set COSIGN_PKCS11_MODULE_PATH');
  if (!modulePath.startsWith('/')) fail('"module-path" must be an absolute path');
  uri.modulePath = modulePath;
  return uri as Pkcs11Uri;
}

/** The URI with the PIN left out, for messages. */
export function describePkcs11Uri(uri: Pkcs11Uri): string {
  const parts = [uri.token !== undefined ? `token "${uri.token}"` : `slot ${uri.slotId}`];
  parts.push(uri.id !== undefined && uri.id.length > 0 ? `key id ${Buffer.from(uri.id).toString('hex')}` : `key "${uri.object}"`);
  return parts.join(', ');
}
