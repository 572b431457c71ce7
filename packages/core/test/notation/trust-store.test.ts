import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadNotationTrustStore, readCertificates, trustStoreFor } from '@tollgate/core';
import { NOTATION_SETS } from './generated.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-notation-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(path: string, content: string | Buffer): Promise<void> {
  await mkdir(join(dir, path, '..'), { recursive: true });
  await writeFile(join(dir, path), content);
}

for (const set of NOTATION_SETS) describe(`loadNotationTrustStore (notation layout, ${set.name} certificates)`, set.options, () => {
  const { fixture, fixtureCert } = set;

  it('reads PEM and DER files of ca, signingAuthority and tsa stores, warns about sub-directories and other files', async () => {
    await put('x509/ca/notary/NotationTestRoot.pem', fixture('NotationTestRoot.pem'));
    await put('x509/ca/notary/timestamp.crt', fixtureCert('TestTimestamp.crt').raw); // DER
    await put('x509/ca/notary/nested/ignored.pem', fixture('NotationTestRoot.pem'));
    await put('x509/ca/notary/README.txt', 'notes');
    await put('x509/signingAuthority/sa/root.pem', fixture('NotationTestRoot.pem'));
    await put('x509/tsa/globalsign/root.cer', fixture('tsa-globalsignRoot.cer'));
    const warnings: string[] = [];
    const stores = await loadNotationTrustStore(dir, { onWarning: (w) => warnings.push(w) });
    expect([...stores.keys()].sort()).toEqual(['ca:notary', 'signingAuthority:sa', 'tsa:globalsign']);
    expect(stores.get('ca:notary')).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/nested is a sub-directory/);
    expect(warnings.join('\n')).toMatch(/README.txt is not a .pem/);
    const store = trustStoreFor(stores, ['ca:notary', 'tsa:globalsign']);
    expect(store.ca).toHaveLength(2);
    expect(store.tsa).toHaveLength(1);
    expect(store.signingAuthority).toHaveLength(0);
  });

  it('a PEM file with several certificates yields them all', async () => {
    // tsa-globalsignRoot.cer is DER; X509Certificate#toString() gives its PEM
    const both = Buffer.concat([fixture('NotationTestRoot.pem'), Buffer.from('\n'), Buffer.from(fixtureCert('tsa-globalsignRoot.cer').toString())]);
    expect(readCertificates(both, 'bundle.pem')).toHaveLength(2);
  });

  it('refuses symlinked stores and files, as the specification requires', async () => {
    await put('real/root.pem', fixture('NotationTestRoot.pem'));
    await mkdir(join(dir, 'x509/ca/linked'), { recursive: true });
    await symlink(join(dir, 'real/root.pem'), join(dir, 'x509/ca/linked/root.pem'));
    await expect(loadNotationTrustStore(dir)).rejects.toThrow(/is a symlink/);
    await rm(join(dir, 'x509/ca/linked'), { recursive: true });
    await symlink(join(dir, 'real'), join(dir, 'x509/ca/linkdir'));
    await expect(loadNotationTrustStore(dir)).rejects.toThrow(/named store .* is a symlink/);
  });

  it('garbage, truncated PEM, keys and oversize files are clear errors naming the file', async () => {
    await put('x509/ca/bad/garbage.pem', 'this is not a certificate');
    await expect(loadNotationTrustStore(dir)).rejects.toMatchObject({ code: 'INVALID_TRUST_STORE', message: expect.stringMatching(/garbage.pem: neither PEM nor a DER/) });
    await put('x509/ca/bad/garbage.pem', fixture('NotationTestRoot.pem').subarray(0, 400));
    await expect(loadNotationTrustStore(dir)).rejects.toThrow(/garbage.pem: the PEM block "CERTIFICATE" has no END line/);
    await put('x509/ca/bad/garbage.pem', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    await expect(loadNotationTrustStore(dir)).rejects.toThrow(/holds a "PRIVATE KEY" PEM block/);
    await put('x509/ca/bad/garbage.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expect(loadNotationTrustStore(dir)).rejects.toThrow(/cannot be decoded/);
    await put('x509/ca/bad/garbage.pem', Buffer.alloc(1024 * 1024 + 1, 0x41));
    await expect(loadNotationTrustStore(dir)).rejects.toThrow(/larger than 1048576 bytes/);
  });

  it('a directory without x509/ is not a trust store; a policy naming a missing or empty store fails', async () => {
    await expect(loadNotationTrustStore(dir)).rejects.toThrow(/is not a notation trust store/);
    await mkdir(join(dir, 'x509/ca/empty'), { recursive: true });
    const stores = await loadNotationTrustStore(dir);
    expect(() => trustStoreFor(stores, ['ca:missing'])).toThrow(/"ca:missing", which does not exist/);
    expect(() => trustStoreFor(stores, ['ca:empty'])).toThrow(/holds no certificate/);
  });
});
