/**
 * Notation fixtures the tests make themselves, under the file names of notation-go's (fixtures.ts) and with the same
 * shape, dates and targets: a ca chain whose envelopes are valid (expiry 2120), expired (2022-07-29T23:59:00Z) or of
 * the signing-authority scheme, and a self-signed signer (valid 2023-05-09 to 2033-05-10) whose envelope carries an
 * RFC 3161 countersignature from a three-level TSA chain (genTime 2024-06-18T06:29:37Z, accuracy 1 s, a CRL named on
 * the TSA certificate). Security checks run on these everywhere; notation-go's own files stay for interop.
 */
import type { X509Certificate } from 'node:crypto';
import { fixtureSet, notationGo, DOCKER_TARGET, TIMESTAMP_TARGET, type NotationFixtures } from './fixtures.js';
import { makeCert, rsaKey, signEnvelope } from './pki.js';
import { timestampToken } from './timestamp-authority.js';

const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
const NOTARY = { C: 'US', ST: 'WA', O: 'tollgate-generated' };

function pem(cert: X509Certificate): Buffer {
  return Buffer.from(cert.toString());
}

function generate(): Map<string, Buffer> {
  const rootKey = rsaKey();
  const root = makeCert({ cn: 'Generated Notation Test Root', key: rootKey, ca: true, pathLen: 1, org: NOTARY, notBefore: new Date('2020-09-09T07:00:00Z'), notAfter: new Date('2122-09-05T20:38:45Z') });
  const leafKey = rsaKey(3072); // PS384 signatures of notation-go's length
  const leaf = makeCert({
    cn: 'Generated Notation Signer',
    key: leafKey,
    issuer: { cert: root, key: rootKey },
    eku: [CODE_SIGNING],
    org: NOTARY,
    notBefore: new Date('2020-10-09T07:00:00Z'),
    notAfter: new Date('2122-08-06T20:38:45Z'),
  });
  const envelope = (prot: Record<string, unknown>) => signEnvelope({ key: leafKey, alg: 'PS384', chain: [leaf, root], target: DOCKER_TARGET, protected: prot });
  const withExpiry = (expiry: string, signingTime: string) =>
    envelope({ crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'], 'io.cncf.notary.expiry': expiry, 'io.cncf.notary.signingTime': signingTime });

  // jwsWithTimestamp.sig: a self-signed signer (TestTimestamp.crt) and a countersignature by a TSA under its own root.
  const signerKey = rsaKey();
  const signer = makeCert({ cn: 'alpine', key: signerKey, eku: [CODE_SIGNING], org: NOTARY, notBefore: new Date('2023-05-09T04:55:12Z'), notAfter: new Date('2033-05-10T04:55:12Z') });
  const tsaRootKey = rsaKey();
  const tsaRoot = makeCert({ cn: 'Generated TSA Root', key: tsaRootKey, ca: true, org: NOTARY, notBefore: new Date('2014-12-10T00:00:00Z'), notAfter: new Date('2034-12-10T00:00:00Z') });
  const tsaCaKey = rsaKey();
  const tsaCa = makeCert({ cn: 'Generated TSA CA', key: tsaCaKey, ca: true, pathLen: 0, issuer: { cert: tsaRoot, key: tsaRootKey }, org: NOTARY, notBefore: new Date('2016-01-01T00:00:00Z'), notAfter: new Date('2034-01-01T00:00:00Z') });
  const tsaKey = rsaKey();
  const tsa = makeCert({
    cn: 'Generated Test TSA',
    key: tsaKey,
    issuer: { cert: tsaCa, key: tsaCaKey },
    eku: [TIME_STAMPING],
    crl: true,
    org: NOTARY,
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: new Date('2034-01-01T00:00:00Z'),
  });
  const unstamped = JSON.parse(
    signEnvelope({ key: signerKey, alg: 'PS256', chain: [signer], target: TIMESTAMP_TARGET, protected: { 'io.cncf.notary.signingTime': '2024-06-18T14:29:33+08:00' } }).toString('utf8'),
  );
  const token = timestampToken({ signature: Buffer.from(unstamped.signature, 'base64url'), genTime: new Date('2024-06-18T06:29:37Z'), tsa: { cert: tsa, key: tsaKey }, intermediates: [tsaCa] });
  const stamped = { ...unstamped, header: { 'io.cncf.notary.timestampSignature': token.toString('base64'), ...unstamped.header } };

  return new Map([
    ['NotationTestRoot.pem', pem(root)],
    ['ca_valid_sig_env.json', withExpiry('2120-11-09T07:00:00Z', '2020-11-09T07:00:00Z')],
    ['ca_expired_sig_env.json', withExpiry('2022-07-29T23:59:00Z', '2022-07-29T00:00:00Z')],
    [
      'sa_valid_sig_env.json',
      envelope({
        crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime', 'io.cncf.notary.expiry'],
        'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
        'io.cncf.notary.signingTime': undefined,
        'io.cncf.notary.authenticSigningTime': '2020-11-09T07:00:00Z',
        'io.cncf.notary.expiry': '2120-11-09T07:00:00Z',
      }),
    ],
    ['TestTimestamp.crt', pem(signer)],
    ['jwsWithTimestamp.sig', Buffer.from(JSON.stringify(stamped))],
    ['tsa-globalsignRoot.cer', tsaRoot.raw], // DER, as GlobalSign's
  ]);
}

let files: Map<string, Buffer> | undefined;

/** Made on first use (seven RSA keys, one of 3072 bits), once per test file. */
export const generated: NotationFixtures = fixtureSet('generated', {}, 'Generated Test TSA', (name) => {
  files ??= generate();
  const bytes = files.get(name);
  if (bytes === undefined) throw new Error(`${name} is notation-go's own file (interop); it is not generated: read it with the notation-go fixtures`);
  return Buffer.from(bytes);
});

/** Both sets, for the checks that are not about interop: the generated one, then notation-go's (skipped, with the reason, without ../shared). */
export const NOTATION_SETS: readonly NotationFixtures[] = [generated, notationGo];
