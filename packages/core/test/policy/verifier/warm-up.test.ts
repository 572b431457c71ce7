import { describe, expect, it } from 'vitest';
import { generateKeyPair, loadPolicy, publicGoodTrustedRoot, publicKeyPem, warmUpVerification } from '@tollgate/core';
import { yaml } from '../support.js';

const keyPolicy = () => {
  const pem = publicKeyPem(generateKeyPair('ecdsa-p256'));
  return loadPolicy(yaml(`rules:\n  - name: signed\n    images: ["**"]\n    authorities:\n      - name: k\n        key: {pem: ${JSON.stringify(pem)}}\n`));
};

describe('warmUpVerification', () => {
  it('resolves the embedded Sigstore root for a policy with a key or keyless authority', async () => {
    const root = await warmUpVerification(await keyPolicy());
    expect(root).toBe(publicGoodTrustedRoot());
  });

  it('keeps a trusted root it is given', async () => {
    const given = { ...publicGoodTrustedRoot() };
    expect(await warmUpVerification(await keyPolicy(), { trustedRoot: given })).toBe(given);
  });

  it('loads no Sigstore root for a policy without cosign authorities', async () => {
    expect(await warmUpVerification(await loadPolicy(yaml('rules:\n  - name: open\n    images: ["**"]\n')))).toBeUndefined();
  });
});
