import { describe, expect, it } from 'vitest';
import { createHash, createPrivateKey } from 'node:crypto';
import { TollgateError, keyDetails, publicKeyPem, readPrivateKey, readPublicKey, signMessage, verifyMessage } from '@tollgate/core';
import { COSIGN_FIXTURES, fixture } from './fixtures.js';

/** Keys written by real cosign (and cosign's own test keys), and a signature cosign made: our reader must speak their format. */
describe('cosign keys and signatures from the shared fixtures', COSIGN_FIXTURES, () => {
  it('decrypts the ENCRYPTED SIGSTORE PRIVATE KEY (N=32768) with "hello" to an EC P-256 key that signs and verifies', async () => {
    const key = await readPrivateKey(fixture('cosign/sigstore-encrypted-SIGSTORE-label.key'), 'hello');
    expect(key.algorithm).toBe('ecdsa-p256');
    expect(keyDetails(key)).toBe('PKIX_ECDSA_P256_SHA_256');
    const message = Buffer.from('payload');
    expect(verifyMessage(readPublicKey(publicKeyPem(key)), message, signMessage(key, message))).toBe(true);
  });

  it('rejects the SIGSTORE-label key with the wrong password, saying so', async () => {
    const error = await readPrivateKey(fixture('cosign/sigstore-encrypted-SIGSTORE-label.key'), 'wrong').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TollgateError);
    expect((error as TollgateError).code).toBe('WRONG_PASSWORD');
    expect((error as TollgateError).message).toMatch(/wrong password or corrupted key/);
    expect((error as TollgateError).message).not.toContain('wrong"');
  });

  it('asks for the password instead of guessing an empty one when none is given', async () => {
    await expect(readPrivateKey(fixture('cosign/sigstore-encrypted-SIGSTORE-label.key'))).rejects.toMatchObject({ code: 'PASSWORD_REQUIRED' });
  });

  it('refuses the legacy-label key that decrypts to SEC1 (cosign refuses it too), with a clear message', async () => {
    const error = await readPrivateKey(fixture('cosign/cosign-ec-encrypted-COSIGN-label.key'), 'hello').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_KEY' });
    expect((error as Error).message).toMatch(/SEC1.*not PKCS#8/);
  });

  it('reads the legacy ENCRYPTED COSIGN PRIVATE KEY label (wrong password there is WRONG_PASSWORD, not a format error)', async () => {
    await expect(readPrivateKey(fixture('cosign/cosign-ec-encrypted-COSIGN-label.key'), 'nope')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
  });

  it('decrypts the key made by real `cosign generate-key-pair` (N=65536, empty password) to the documented public key', async () => {
    const key = await readPrivateKey(fixture('cosign/cosign-generated-empty-password.key'), '');
    expect(key.algorithm).toBe('ecdsa-p256');
    const expected = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGmsWpZNuu+SUX70n3lVK4JLsaoV7T+rhea2rQUu29EQiatoLB06QdsmSd+GsQGlQzfcDtsKPzb+B2zLggrWZjg==';
    expect(publicKeyPem(key).replace(/-----[A-Z ]+-----|\n/g, '')).toBe(expected);
    await expect(readPrivateKey(fixture('cosign/cosign-generated-empty-password.key'), 'x')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
  });

  it('verifies the legacy keyed cosign signature over the simple-signing payload, and rejects every changed payload byte', () => {
    const layer = JSON.parse(fixture('cosign/cosign-legacy-keyed-busybox.json').toString('utf8')) as { payload: string; signature: string; publicKey: string };
    const key = readPublicKey(layer.publicKey);
    expect(key.algorithm).toBe('ecdsa-p256');
    const payload = Buffer.from(layer.payload, 'utf8');
    const signature = Buffer.from(layer.signature, 'base64');
    expect(verifyMessage(key, payload, signature)).toBe(true);
    for (let i = 0; i < payload.length; i++) {
      const changed = Buffer.from(payload);
      changed[i] = changed[i]! ^ 0x01;
      expect(verifyMessage(key, changed, signature)).toBe(false);
    }
    const badSignature = Buffer.from(signature);
    badSignature[10] = badSignature[10]! ^ 0x80;
    expect(verifyMessage(key, payload, badSignature)).toBe(false);
    expect(verifyMessage(key, payload, signature.subarray(0, signature.length - 1))).toBe(false);
  });

  it('reads the conformance suite key.pub; its keyId is sha256 of the SPKI DER and its PEM is byte-identical', () => {
    const pem = fixture('sigstore-conformance/managed-key-happy-path.key.pub').toString('utf8');
    const key = readPublicKey(pem);
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    expect(Buffer.from(key.spkiDer).equals(der)).toBe(true);
    expect(key.keyId).toBe(createHash('sha256').update(der).digest('hex'));
    expect(key.pem.trim()).toBe(pem.trim());
    expect(keyDetails(key)).toBe('PKIX_ECDSA_P256_SHA_256');
  });

  it('refuses a cosign .pub where a private key is expected and a cosign .key where a public key is expected', async () => {
    await expect(readPrivateKey(fixture('sigstore-conformance/managed-key-happy-path.key.pub'), 'x')).rejects.toThrow(/is a public key/);
    expect(() => readPublicKey(fixture('cosign/sigstore-encrypted-SIGSTORE-label.key'))).toThrow(/is a private key/);
  });

  it('the decrypted fixture key is the same key OpenSSL sees in the PKCS#8', async () => {
    const key = await readPrivateKey(fixture('cosign/sigstore-encrypted-SIGSTORE-label.key'), 'hello');
    const der = key.privateKey.export({ type: 'pkcs8', format: 'der' });
    const again = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    expect(again.equals(key.privateKey)).toBe(true);
  });
});
