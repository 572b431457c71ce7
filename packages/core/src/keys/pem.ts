import { TollgateError } from '../errors/tollgate-error.js';

export interface PemBlock {
  label: string;
  der: Buffer;
}

const MAX_BLOCKS = 8;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The PEM blocks of a text (RFC 7468, strict): each BEGIN has its matching END, bodies are canonical base64 with
 * no headers (legacy OpenSSL `Proc-Type` encryption is refused), and text outside the blocks is ignored, as
 * explanatory text is allowed. Returns [] when there is no BEGIN line at all.
 */
export function parsePemBlocks(text: string, what: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const begin = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
  let match: RegExpExecArray | null;
  while ((match = begin.exec(text)) !== null) {
    if (blocks.length === MAX_BLOCKS) throw invalid(`${what} holds more than ${MAX_BLOCKS} PEM blocks; give one key per file`);
    const label = match[1]!;
    const end = `-----END ${label}-----`;
    const bodyStart = match.index + match[0].length;
    const endAt = text.indexOf(end, bodyStart);
    if (endAt < 0) throw invalid(`${what}: the PEM block "${label}" has no "${end}" line; the file is truncated or corrupt`);
    const body = text.slice(bodyStart, endAt);
    if (body.includes('-----')) throw invalid(`${what}: the PEM block "${label}" is interrupted by another boundary line; the file is corrupt`);
    if (body.includes(':')) {
      throw invalid(`${what}: the PEM block "${label}" has headers (legacy OpenSSL encryption?); convert it to PKCS#8 with \`openssl pkcs8 -topk8\``);
    }
    blocks.push({ label, der: decodeBase64Body(body, label, what) });
    begin.lastIndex = endAt + end.length;
  }
  return blocks;
}

function decodeBase64Body(body: string, label: string, what: string): Buffer {
  const compact = body.replace(/[ \t\r\n]/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64_BODY.test(compact)) {
    throw invalid(`${what}: the PEM block "${label}" is not valid base64; the file is truncated or corrupt`);
  }
  const der = Buffer.from(compact, 'base64');
  if (der.toString('base64') !== compact) throw invalid(`${what}: the PEM block "${label}" is not canonical base64; the file is corrupt`);
  return der;
}

/** PEM text the way Go's encoding/pem writes it (and so cosign): 64-character lines, a trailing newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function invalid(message: string): TollgateError {
  return new TollgateError('INVALID_KEY', message);
}
