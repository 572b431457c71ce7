import { createHash, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TollgateError } from '@tollgate/core';
import { exportPKCS8, generateKeyPair, importPKCS8, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import type { AccessEntry } from './scope.js';

/** What a verified token says. */
export interface TokenClaims {
  subject: string;
  access: unknown;
  expiresAt: number;
}

export interface IssuedToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

const MAX_KEY_FILE_BYTES = 64 * 1024;
/** Tokens longer than this are not ours. */
export const MAX_TOKEN_LENGTH = 8192;
/** Clock skew tolerated on exp/nbf. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** Reads the ES256 signing key, or generates it (PKCS#8 PEM, mode 0600) when the file does not exist. */
async function loadOrCreateKey(file: string): Promise<{ privateKey: CryptoKey | KeyObject; publicKey: KeyObject }> {
  let pem: string;
  try {
    const info = await stat(file);
    if (info.size > MAX_KEY_FILE_BYTES) throw new TollgateError('INVALID_CONFIG', `the token signing key ${file} is over 64 KiB; it is not a PEM key`);
    if ((info.mode & 0o077) !== 0) throw new TollgateError('INVALID_CONFIG', `the token signing key ${file} is readable by other users; run chmod 600 ${file}`);
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const pair = await generateKeyPair('ES256', { extractable: true });
    pem = await exportPKCS8(pair.privateKey);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(pem);
      await handle.close();
    } catch (raceOrError) {
      // Another process created it first: use theirs.
      if ((raceOrError as NodeJS.ErrnoException).code !== 'EEXIST') throw raceOrError;
      pem = await readFile(file, 'utf8');
    }
  }
  let privateKey: CryptoKey | KeyObject;
  try {
    privateKey = await importPKCS8(pem, 'ES256', { extractable: true });
  } catch {
    throw new TollgateError('INVALID_CONFIG', `the token signing key ${file} is not a PKCS#8 PEM P-256 key; remove it to have one generated`);
  }
  const publicKey = createPublicKey(pem);
  return { privateKey, publicKey };
}

/**
 * Issues and verifies the proxy's Bearer tokens: JWTs signed with ES256, audience = the service name, scoped to
 * repositories and `pull` (distribution's `access` claim), short-lived.
 */
export class TokenIssuer {
  private readonly kid: string;

  private constructor(
    private readonly privateKey: CryptoKey | KeyObject,
    private readonly publicKey: KeyObject,
    readonly issuer: string,
    readonly service: string,
    readonly ttlSeconds: number,
  ) {
    const der = publicKey.export({ type: 'spki', format: 'der' });
    this.kid = createHash('sha256').update(der).digest('hex').slice(0, 32);
  }

  static async open(options: { signingKey: string; issuer: string; service: string; ttlSeconds: number }): Promise<TokenIssuer> {
    const { privateKey, publicKey } = await loadOrCreateKey(options.signingKey);
    return new TokenIssuer(privateKey, publicKey, options.issuer, options.service, options.ttlSeconds);
  }

  async issue(subject: string, access: AccessEntry[], now = Date.now()): Promise<IssuedToken> {
    const iat = Math.floor(now / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.issuer)
      .setSubject(subject)
      .setAudience(this.service)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, access_token: token, expires_in: this.ttlSeconds, issued_at: new Date(iat * 1000).toISOString() };
  }

  /** Verifies signature (ES256 only), issuer, audience, exp and nbf; undefined for any token that fails. */
  async verify(token: string): Promise<TokenClaims | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['ES256'],
        issuer: this.issuer,
        audience: this.service,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat', 'nbf', 'sub', 'jti'],
      });
      if (typeof payload.sub !== 'string' || payload.sub === '') return undefined;
      return { subject: payload.sub, access: payload.access, expiresAt: payload.exp! * 1000 };
    } catch {
      return undefined;
    }
  }
}
