import { beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import { TollgateError, encryptCosignPrivateKey, generateKeyPair, publicKeyPem, readPrivateKey, readPublicKey } from '@tollgate/core';
// Internal: seals arbitrary plaintext, which the public writer refuses to do for unsupported keys.
import { sealCosignEnvelope } from '../../src/keys/cosign-envelope.js';

// Count scrypt runs, to prove hostile KDF parameters are refused before any key derivation starts.
const scryptCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof nodeCrypto>();
  const scrypt = (...args: Parameters<typeof original.scrypt>) => {
    scryptCalls.count++;
    return (original.scrypt as (...a: unknown[]) => void)(...args);
  };
  return { ...original, default: { ...original, scrypt }, scrypt };
});

const GOOD = {
  kdf: { name: 'scrypt', params: { N: 32768, r: 8, p: 1 }, salt: Buffer.alloc(32, 1).toString('base64') },
  cipher: { name: 'nacl/secretbox', nonce: Buffer.alloc(24, 2).toString('base64') },
  ciphertext: Buffer.alloc(100, 3).toString('base64'),
};

function cosignPem(body: unknown, label = 'ENCRYPTED SIGSTORE PRIVATE KEY'): string {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  return `-----BEGIN ${label}-----\n${bytes.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;
}

function withChange(change: (doc: any) => void): string {
  const doc = structuredClone(GOOD);
  change(doc);
  return cosignPem(doc);
}

async function privateError(input: string | Uint8Array, password?: string): Promise<TollgateError> {
  const error = await readPrivateKey(input, password).then(
    () => new Error('accepted'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TollgateError);
  expect((error as Error).message).not.toContain('\n');
  return error as TollgateError;
}

function publicError(input: string | Uint8Array): TollgateError {
  try {
    readPublicKey(input);
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    expect((error as Error).message).not.toContain('\n');
    return error as TollgateError;
  }
  throw new Error('accepted');
}

beforeEach(() => {
  scryptCalls.count = 0;
});

describe('hostile cosign key bodies are refused before scrypt runs', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', cosignPem('this is not json'), /JSON|not/],
    ['JSON with duplicate keys', cosignPem('{"kdf":{},"kdf":{}}'), /duplicate/],
    ['a JSON array', cosignPem('[1,2,3]'), /not an object/],
    ['missing kdf', withChange((d) => delete d.kdf), /"kdf" is missing/],
    ['missing cipher', withChange((d) => delete d.cipher), /"cipher" is missing/],
    ['kdf a string', withChange((d) => (d.kdf = 'scrypt')), /"kdf" is missing or not an object/],
    ['another KDF', withChange((d) => (d.kdf.name = 'pbkdf2')), /not "scrypt"/],
    ['another cipher', withChange((d) => (d.cipher.name = 'aes-gcm')), /not "nacl\/secretbox"/],
    ['params missing', withChange((d) => delete d.kdf.params), /params/],
    ['N a string', withChange((d) => (d.kdf.params.N = '32768')), /scrypt parameters/],
    ['N not a power of two', withChange((d) => (d.kdf.params.N = 40000)), /N=40000/],
    ['N = 2^30', withChange((d) => (d.kdf.params.N = 2 ** 30)), /N=1073741824.*refusing/],
    ['N = 2^20 (a power of two, still not cosign)', withChange((d) => (d.kdf.params.N = 2 ** 20)), /refusing/],
    ['N tiny', withChange((d) => (d.kdf.params.N = 2)), /refusing/],
    ['N fractional', withChange((d) => (d.kdf.params.N = 32768.5)), /refusing/],
    ['r huge', withChange((d) => (d.kdf.params.r = 1_000_000)), /r=1000000/],
    ['p huge', withChange((d) => (d.kdf.params.p = 64)), /p=64/],
    ['salt missing', withChange((d) => delete d.kdf.salt), /salt" is missing/],
    ['salt a number', withChange((d) => (d.kdf.salt = 12)), /salt" is missing or not a string/],
    ['salt base64 garbage', withChange((d) => (d.kdf.salt = '!!!not base64!!!')), /salt" is not standard base64/],
    ['salt url-safe base64', withChange((d) => (d.kdf.salt = Buffer.alloc(32, 0xff).toString('base64url'))), /salt" is not standard base64/],
    ['salt short', withChange((d) => (d.kdf.salt = Buffer.alloc(16).toString('base64'))), /salt is 16 bytes, not 32/],
    ['salt long', withChange((d) => (d.kdf.salt = Buffer.alloc(1000).toString('base64'))), /salt is 1000 bytes/],
    ['nonce short', withChange((d) => (d.cipher.nonce = Buffer.alloc(12).toString('base64'))), /nonce is 12 bytes, not 24/],
    ['nonce null', withChange((d) => (d.cipher.nonce = null)), /nonce" is missing/],
    ['ciphertext missing', withChange((d) => delete d.ciphertext), /"ciphertext" is missing/],
    ['ciphertext shorter than the tag', withChange((d) => (d.ciphertext = Buffer.alloc(16).toString('base64'))), /too short/],
    ['ciphertext non-canonical base64', withChange((d) => (d.ciphertext = 'AB==')), /canonical/],
  ];

  it.each(cases)('%s', async (_name, pem, message) => {
    const error = await privateError(pem, 'hello');
    expect(error.code).toBe('INVALID_KEY');
    expect(error.message).toMatch(message);
    expect(scryptCalls.count).toBe(0);
  });

  it('a valid structure does run scrypt (so the counter above is wired)', async () => {
    const error = await privateError(cosignPem(GOOD), 'hello');
    expect(error.code).toBe('WRONG_PASSWORD');
    expect(scryptCalls.count).toBe(1);
  });
});

// A key in cosign's format (the SIGSTORE label, scrypt N=32768 as cosign's own test key), password "hello".
const sigstoreLabelKey = await encryptCosignPrivateKey(generateKeyPair(), 'hello', { scryptN: 32768 });

describe('tampered and mislabelled cosign keys', () => {
  const key = sigstoreLabelKey;
  const body = JSON.parse(Buffer.from(key.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64').toString('utf8'));

  it('a flipped ciphertext, nonce or salt byte is "wrong password or corrupted key"', async () => {
    for (const field of ['ciphertext', 'nonce', 'salt'] as const) {
      const doc = structuredClone(body);
      const holder = field === 'ciphertext' ? doc : field === 'nonce' ? doc.cipher : doc.kdf;
      const bytes = Buffer.from(holder[field], 'base64');
      bytes[5] = bytes[5]! ^ 0x01;
      holder[field] = bytes.toString('base64');
      const error = await privateError(cosignPem(doc), 'hello');
      expect(error.code).toBe('WRONG_PASSWORD');
      expect(error.message).toMatch(/wrong password or corrupted key/);
    }
  });

  it('the password never appears in an error message', async () => {
    const error = await privateError(key, 'sup3r-s3cret-passw0rd');
    expect(error.message).not.toContain('sup3r-s3cret-passw0rd');
  });

  it('a cosign body under another label is refused by label', async () => {
    const error = await privateError(key.replaceAll('ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED FOO PRIVATE KEY'), 'hello');
    expect(error.message).toMatch(/PEM label "ENCRYPTED FOO PRIVATE KEY"/);
  });

  it('a truncated key file is refused as truncated', async () => {
    for (const cut of [20, key.length / 2, key.length - 10]) {
      const error = await privateError(key.slice(0, cut), 'hello');
      expect(error.code).toBe('INVALID_KEY');
    }
    expect((await privateError(key.slice(0, key.length - 20), 'hello')).message).toMatch(/truncated/);
  });

  it('a PEM body truncated inside the base64 is refused', async () => {
    const lines = key.trim().split('\n');
    const cut = [...lines.slice(0, 3), lines[3]!.slice(0, 30), lines[lines.length - 1]].join('\n');
    const error = await privateError(cut, 'hello');
    expect(error.code).toBe('INVALID_KEY');
  });

  it('a string key over the size limit is refused, counting UTF-8 bytes', async () => {
    expect(publicError('é'.repeat(40_000)).message).toMatch(/more than the 65536/);
  });

  it('a key made with the COSIGN label by us (PKCS#8 inside) reads like cosign would', async () => {
    const ours = await encryptCosignPrivateKey(generateKeyPair(), 'pw', { scryptN: 32768 });
    const relabelled = ours.replaceAll('ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY');
    expect((await readPrivateKey(relabelled, 'pw')).algorithm).toBe('ecdsa-p256');
  });
});

describe('PEM and input garbage', () => {
  const pub = publicKeyPem(generateKeyPair());

  it.each([
    ['empty', ''],
    ['whitespace', '  \n\t '],
    ['plain text', 'hello world'],
    ['BEGIN without END', '-----BEGIN PUBLIC KEY-----\nMFkw\n'],
    ['mismatched END', '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PRIVATE KEY-----\n'],
    ['headers (legacy OpenSSL encryption)', '-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMFkw\n-----END EC PRIVATE KEY-----\n'],
    ['bad base64', '-----BEGIN PUBLIC KEY-----\n@@@@\n-----END PUBLIC KEY-----\n'],
    ['empty body', '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n'],
    ['valid base64 of garbage', '-----BEGIN PUBLIC KEY-----\nAAAAAAAA\n-----END PUBLIC KEY-----\n'],
    ['two keys', pub + pub],
    ['invalid UTF-8 bytes', new Uint8Array([0xff, 0xfe, 0x00, 0x80])],
    ['oversize', 'A'.repeat(70_000)],
    ['JSON but not a JWK', '{"hello":"world"}'],
    ['JSON array', '[]'],
    ['broken JSON', '{"kty":"EC",'],
    ['JWK set', '{"keys":[]}'],
  ])('%s is refused by both readers with INVALID_KEY', async (_name, input) => {
    expect(publicError(input).code).toBe('INVALID_KEY');
    expect((await privateError(input, 'x')).code).toBe('INVALID_KEY');
  });

  it('a non-canonical SPKI (trailing bytes) is refused', () => {
    const der = Buffer.concat([Buffer.from(pub.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')]);
    const trailing = Buffer.concat([der, Buffer.from([0, 0])]);
    const pem = `-----BEGIN PUBLIC KEY-----\n${trailing.toString('base64')}\n-----END PUBLIC KEY-----\n`;
    expect(publicError(pem).code).toBe('INVALID_KEY');
  });

  it('a certificate is refused by both readers with a hint', async () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(publicError(cert).message).toMatch(/certificate.*openssl x509 -pubkey/);
    expect((await privateError(cert, 'x')).message).toMatch(/certificate/);
  });
});

describe('unsupported algorithms and the wrong kind of key', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const ed448 = generateKeyPairSync('ed448');

  it('RSA keys in every form are refused, listing the supported algorithms', async () => {
    const inputs = [
      rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
      JSON.stringify(rsa.privateKey.export({ format: 'jwk' })),
    ];
    for (const input of inputs) {
      const error = await privateError(input);
      expect(error.code).toBe('UNSUPPORTED_KEY');
      expect(error.message).toMatch(/RSA.*ECDSA P-256, ECDSA P-384 and Ed25519/);
    }
    for (const input of [rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string, rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string, JSON.stringify(rsa.publicKey.export({ format: 'jwk' }))]) {
      expect(publicError(input).code).toBe('UNSUPPORTED_KEY');
    }
  });

  it('an RSA key inside a cosign envelope is refused after decryption', async () => {
    const fake = { algorithm: 'ecdsa-p256' as const, privateKey: rsa.privateKey, publicKey: rsa.publicKey };
    await expect(encryptCosignPrivateKey(fake, 'pw', { scryptN: 32768 })).rejects.toMatchObject({ code: 'UNSUPPORTED_KEY' });
    const body = await sealCosignEnvelope(rsa.privateKey.export({ type: 'pkcs8', format: 'der' }), 'pw', 32768);
    expect((await privateError(cosignPem(body), 'pw')).code).toBe('UNSUPPORTED_KEY');
  });

  it.each([
    ['secp256k1', k1, /secp256k1/],
    ['P-521', p521, /secp521r1|P-521/],
    ['Ed448', ed448, /ED448/],
  ] as const)('%s keys are refused as unsupported (PEM and JWK)', async (_name, pair, message) => {
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect((await privateError(privatePem)).message).toMatch(message);
    expect((await privateError(privatePem)).code).toBe('UNSUPPORTED_KEY');
    expect(publicError(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string).code).toBe('UNSUPPORTED_KEY');
    expect(publicError(JSON.stringify(pair.publicKey.export({ format: 'jwk' }))).code).toBe('UNSUPPORTED_KEY');
    expect((await privateError(JSON.stringify(pair.privateKey.export({ format: 'jwk' })))).code).toBe('UNSUPPORTED_KEY');
  });

  it('a private key where a public one is expected, and the reverse, in PEM and JWK', async () => {
    const key = generateKeyPair();
    expect(publicError(key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).message).toMatch(/is a private key/);
    expect(publicError(key.privateKey.export({ type: 'sec1', format: 'pem' }) as string).message).toMatch(/is a private key/);
    expect(publicError(JSON.stringify(key.privateKey.export({ format: 'jwk' }))).message).toMatch(/private JWK \(it has "d"\)/);
    expect((await privateError(publicKeyPem(key))).message).toMatch(/is a public key/);
    expect((await privateError(JSON.stringify(key.publicKey.export({ format: 'jwk' })))).message).toMatch(/public JWK/);
  });

  it('hostile JWK fields are refused', async () => {
    const jwk = generateKeyPair().privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const variants: Array<Record<string, unknown>> = [
      { ...jwk, kty: undefined },
      { ...jwk, kty: 'oct' },
      { ...jwk, crv: 'P-384' },
      { ...jwk, crv: 7 },
      { ...jwk, kty: 'OKP' },
      { ...jwk, x: undefined },
      { ...jwk, x: 'not base64url!' },
      { ...jwk, x: `${jwk.x as string}=` },
      { ...jwk, x: (jwk.x as string).slice(0, 20) },
      { ...jwk, y: Buffer.alloc(32, 0xff).toString('base64url') },
      { ...jwk, d: 5 },
      { ...jwk, d: Buffer.alloc(48).toString('base64url') },
      { ...jwk, alg: 'ES384' },
      { ...jwk, alg: 'RS256' },
    ];
    for (const variant of variants) {
      const error = await privateError(JSON.stringify(variant));
      expect(['INVALID_KEY', 'UNSUPPORTED_KEY']).toContain(error.code);
    }
  });

  it('a PKCS#8 whose embedded public key belongs to another key is refused', async () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const ja = a.privateKey.export({ format: 'jwk' }) as Record<string, string>;
    const jb = b.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    const error = await privateError(JSON.stringify({ ...ja, x: jb.x, y: jb.y }));
    expect(error.code).toBe('INVALID_KEY');
  });
});

describe('fast-check: random input never crashes the readers', () => {
  const labels = ['PUBLIC KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];

  it('random bytes: only TollgateError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        expect(() => readPublicKey(bytes)).toThrow(TollgateError);
        await expect(readPrivateKey(bytes, 'pw')).rejects.toBeInstanceOf(TollgateError);
      }),
      { numRuns: 300 },
    );
  });

  it('random DER inside every PEM label, and random JSON inside cosign labels: only TollgateError, no scrypt on bad params', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...labels), fc.uint8Array({ minLength: 1, maxLength: 600 }), async (label, der) => {
        const pem = `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64')}\n-----END ${label}-----\n`;
        try {
          readPublicKey(pem);
        } catch (error) {
          expect(error).toBeInstanceOf(TollgateError);
        }
        await expect(readPrivateKey(pem, 'pw')).rejects.toBeInstanceOf(TollgateError);
      }),
      { numRuns: 300 },
    );
    scryptCalls.count = 0;
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        await expect(readPrivateKey(cosignPem(value), 'pw')).rejects.toBeInstanceOf(TollgateError);
      }),
      { numRuns: 300 },
    );
    expect(scryptCalls.count).toBe(0);
  });

  it('random strings that look like JWKs: only TollgateError', async () => {
    const jwkLike = fc.record(
      { kty: fc.constantFrom('EC', 'OKP', 'RSA', 'oct', 'x'), crv: fc.constantFrom('P-256', 'P-384', 'Ed25519', 'secp256k1', 'X25519'), x: fc.base64String(), y: fc.base64String(), d: fc.base64String(), alg: fc.string() },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(jwkLike, async (jwk) => {
        const text = JSON.stringify(jwk);
        expect(() => readPublicKey(text)).toThrow(TollgateError);
        await expect(readPrivateKey(text)).rejects.toBeInstanceOf(TollgateError);
      }),
      { numRuns: 300 },
    );
  });
});
