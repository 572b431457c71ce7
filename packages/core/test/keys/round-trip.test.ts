import { describe, expect, it } from 'vitest';
import { createHash, createPrivateKey, createPublicKey, scryptSync, verify } from 'node:crypto';
import nacl from 'tweetnacl';
import {
  COSIGN_SCRYPT_N_VALUES,
  encryptCosignPrivateKey,
  generateKeyPair,
  keyDetails,
  publicKeyPem,
  publicVerificationKey,
  readPrivateKey,
  readPublicKey,
  signMessage,
  verifyMessage,
  type KeyAlgorithm,
} from '@tollgate/core';

const ALGORITHMS: KeyAlgorithm[] = ['ecdsa-p256', 'ecdsa-p384', 'ed25519'];

/**
 * cosign's decryption written out independently of our reader, step by step from go-securesystemslib's
 * `encrypted.Decrypt` and cosign's `LoadPrivateKey`: PEM → JSON → scrypt(password, salt, N, r, p, 32) →
 * secretbox.Open → x509.ParsePKCS8PrivateKey.
 */
function cosignStyleDecrypt(pem: string, password: string): { der: Buffer; doc: Record<string, any>; label: string; lines: string[] } {
  const lines = pem.split('\n');
  const label = /^-----BEGIN (.+)-----$/.exec(lines[0]!)![1]!;
  const body = Buffer.from(lines.slice(1, -2).join(''), 'base64');
  const doc = JSON.parse(body.toString('utf8'));
  const key = scryptSync(password, Buffer.from(doc.kdf.salt, 'base64'), 32, { N: doc.kdf.params.N, r: doc.kdf.params.r, p: doc.kdf.params.p, maxmem: 256 * 1024 * 1024 });
  const opened = nacl.secretbox.open(Buffer.from(doc.ciphertext, 'base64'), Buffer.from(doc.cipher.nonce, 'base64'), key);
  if (opened === null) throw new Error('secretbox open failed');
  return { der: Buffer.from(opened), doc, label, lines };
}

describe('cosign key format, written by us', () => {
  it('writes exactly the structure cosign writes: label, 64-column PEM, JSON field order, sizes, N=65536 r=8 p=1', async () => {
    const key = generateKeyPair();
    const pem = await encryptCosignPrivateKey(key, 'correct horse');
    const { der, doc, label, lines } = cosignStyleDecrypt(pem, 'correct horse');
    expect(label).toBe('ENCRYPTED SIGSTORE PRIVATE KEY');
    expect(pem.endsWith('-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n')).toBe(true);
    for (const line of lines.slice(1, -3)) expect(line).toHaveLength(64);
    const json = Buffer.from(lines.slice(1, -2).join(''), 'base64').toString('utf8');
    expect(json).toMatch(/^\{"kdf":\{"name":"scrypt","params":\{"N":65536,"r":8,"p":1\},"salt":"[A-Za-z0-9+/]{43}="\},"cipher":\{"name":"nacl\/secretbox","nonce":"[A-Za-z0-9+/]{32}"\},"ciphertext":"[A-Za-z0-9+/=]+"\}$/);
    expect(Buffer.from(doc.kdf.salt, 'base64')).toHaveLength(32);
    expect(Buffer.from(doc.cipher.nonce, 'base64')).toHaveLength(24);
    const pkcs8 = key.privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(Buffer.from(doc.ciphertext, 'base64')).toHaveLength(pkcs8.length + 16);
    expect(der.equals(pkcs8)).toBe(true);
    // What x509.ParsePKCS8PrivateKey would get: a PKCS#8 that OpenSSL parses to the same key.
    expect(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).equals(key.privateKey)).toBe(true);
  });

  it('uses a fresh salt and nonce for every encryption', async () => {
    const key = generateKeyPair();
    const a = cosignStyleDecrypt(await encryptCosignPrivateKey(key, 'p', { scryptN: 32768 }), 'p').doc;
    const b = cosignStyleDecrypt(await encryptCosignPrivateKey(key, 'p', { scryptN: 32768 }), 'p').doc;
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    expect(a.cipher.nonce).not.toBe(b.cipher.nonce);
  });

  it.each(COSIGN_SCRYPT_N_VALUES.map((n) => [n]))('round-trips with scrypt N=%i', async (N) => {
    const key = generateKeyPair();
    const pem = await encryptCosignPrivateKey(key, 'pässwörd ✓', { scryptN: N });
    expect(cosignStyleDecrypt(pem, 'pässwörd ✓').doc.kdf.params.N).toBe(N);
    const back = await readPrivateKey(pem, 'pässwörd ✓');
    expect(back.privateKey.equals(key.privateKey)).toBe(true);
    await expect(readPrivateKey(pem, 'passwörd ✓')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
  });

  it('refuses to write scrypt parameters cosign would not read', async () => {
    await expect(encryptCosignPrivateKey(generateKeyPair(), 'p', { scryptN: 1024 })).rejects.toMatchObject({ code: 'USAGE' });
  });

  it.each(ALGORITHMS.map((a) => [a]))('%s: generate, encrypt, read back (string and bytes), sign and verify', async (algorithm) => {
    const key = generateKeyPair(algorithm);
    expect(key.algorithm).toBe(algorithm);
    const pem = await encryptCosignPrivateKey(key, '', { scryptN: 32768 });
    for (const input of [pem, new TextEncoder().encode(pem)]) {
      const back = await readPrivateKey(input, '');
      expect(back.algorithm).toBe(algorithm);
      expect(publicKeyPem(back)).toBe(publicKeyPem(key));
    }
    const pub = readPublicKey(publicKeyPem(key));
    expect(pub.algorithm).toBe(algorithm);
    expect(pub.keyId).toBe(createHash('sha256').update(pub.spkiDer).digest('hex'));
    expect(publicVerificationKey(key).keyId).toBe(pub.keyId);
    const data = Buffer.from('the bytes that were signed');
    const signature = signMessage(key, data);
    expect(verifyMessage(pub, data, signature)).toBe(true);
    expect(verifyMessage(key, data, signature)).toBe(true);
    expect(verifyMessage(pub, Buffer.from('other bytes'), signature)).toBe(false);
    expect(verifyMessage(readPublicKey(publicKeyPem(generateKeyPair(algorithm))), data, signature)).toBe(false);
  });

  it('signs as cosign does: ECDSA DER over SHA-256 (P-256) and SHA-384 (P-384), pure Ed25519', () => {
    const data = Buffer.from('message');
    const p256 = generateKeyPair('ecdsa-p256');
    expect(verify('sha256', data, p256.publicKey, signMessage(p256, data))).toBe(true);
    const p384 = generateKeyPair('ecdsa-p384');
    expect(verify('sha384', data, p384.publicKey, signMessage(p384, data))).toBe(true);
    expect(verify('sha256', data, p384.publicKey, signMessage(p384, data))).toBe(false);
    const ed = generateKeyPair('ed25519');
    const edSignature = signMessage(ed, data);
    expect(edSignature).toHaveLength(64);
    expect(verify(null, data, ed.publicKey, edSignature)).toBe(true);
    expect(keyDetails(p256)).toBe('PKIX_ECDSA_P256_SHA_256');
    expect(keyDetails(p384)).toBe('PKIX_ECDSA_P384_SHA_384');
    expect(keyDetails(ed)).toBe('PKIX_ED25519');
  });

  it('verifyMessage returns false, never throws, for garbage signatures', () => {
    for (const algorithm of ALGORITHMS) {
      const pub = readPublicKey(publicKeyPem(generateKeyPair(algorithm)));
      for (const signature of [new Uint8Array(0), new Uint8Array(64), new Uint8Array(8).fill(0x30), new Uint8Array(100_000), Buffer.from('MEUCIQ', 'utf8')]) {
        expect(verifyMessage(pub, Buffer.from('x'), signature)).toBe(false);
      }
    }
  });
});

describe('plain PEM and JWK keys', () => {
  it.each(ALGORITHMS.map((a) => [a]))('%s: reads PKCS#8 PEM and private/public JWK', async (algorithm) => {
    const key = generateKeyPair(algorithm);
    const pkcs8 = key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect((await readPrivateKey(pkcs8)).privateKey.equals(key.privateKey)).toBe(true);
    const privateJwk = JSON.stringify(key.privateKey.export({ format: 'jwk' }));
    expect((await readPrivateKey(privateJwk)).privateKey.equals(key.privateKey)).toBe(true);
    const publicJwk = JSON.stringify(key.publicKey.export({ format: 'jwk' }));
    expect(readPublicKey(publicJwk).keyId).toBe(readPublicKey(publicKeyPem(key)).keyId);
  });

  it('reads a SEC1 EC PRIVATE KEY PEM, also as OpenSSL writes it with an EC PARAMETERS block first', async () => {
    const key = generateKeyPair('ecdsa-p384');
    const sec1 = key.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect((await readPrivateKey(sec1)).algorithm).toBe('ecdsa-p384');
    const params = '-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n';
    expect((await readPrivateKey(params + sec1)).privateKey.equals(key.privateKey)).toBe(true);
  });

  it('accepts explanatory text around a PEM block and a JWK with a fitting alg', async () => {
    const key = generateKeyPair();
    expect(readPublicKey(`my signing key\n${publicKeyPem(key)}\n`).algorithm).toBe('ecdsa-p256');
    const jwk = { ...key.publicKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'k1' };
    expect(readPublicKey(JSON.stringify(jwk)).algorithm).toBe('ecdsa-p256');
    expect(createPublicKey(readPublicKey(JSON.stringify(jwk)).pem).equals(key.publicKey)).toBe(true);
  });
});
