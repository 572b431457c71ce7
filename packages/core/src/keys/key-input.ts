import { TollgateError } from '../errors/tollgate-error.js';

/** Key files are a few hundred bytes; anything past this is not a key, and is refused before it is parsed. */
export const MAX_KEY_INPUT_BYTES = 64 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Key input as text: bounded in size, valid UTF-8 (a leading BOM is dropped), and not empty. */
export function keyInputText(input: string | Uint8Array, what: string): string {
  let text: string;
  if (typeof input === 'string') {
    if (input.length > MAX_KEY_INPUT_BYTES || Buffer.byteLength(input, 'utf8') > MAX_KEY_INPUT_BYTES) throw tooLarge(what, Buffer.byteLength(input, 'utf8'));
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > MAX_KEY_INPUT_BYTES) throw tooLarge(what, input.byteLength);
    try {
      text = decoder.decode(input);
    } catch {
      throw new TollgateError('INVALID_KEY', `${what} is not text (invalid UTF-8): give a PEM or JWK key file`);
    }
  } else {
    throw new TollgateError('INVALID_KEY', `${what} must be a string or bytes holding a PEM or JWK key`);
  }
  if (text.trim() === '') throw new TollgateError('INVALID_KEY', `${what} is empty: give a PEM or JWK key file`);
  return text;
}

function tooLarge(what: string, size: number): TollgateError {
  return new TollgateError('INVALID_KEY', `${what} is ${size} bytes, more than the ${MAX_KEY_INPUT_BYTES} a key file can be: check that you gave the key and not another file`);
}
