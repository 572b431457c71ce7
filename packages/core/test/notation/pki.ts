/** Test PKI for the notation tests: certificates made with @peculiar/asn1-x509 and node:crypto, and JWS envelopes signed like notation's. */
import { constants, createHmac, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/asn1-x509';

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function rsaKey(bits = 2048): TestKey {
  return generateKeyPairSync('rsa', { modulusLength: bits });
}

export function ecKey(curve: 'P-256' | 'P-384' | 'P-521' = 'P-256'): TestKey {
  return generateKeyPairSync('ec', { namedCurve: curve });
}

export interface CertOptions {
  cn: string;
  key: TestKey;
  /** The issuer (self-signed when absent). */
  issuer?: { cert: X509Certificate; key: TestKey };
  ca?: boolean;
  pathLen?: number;
  /** KeyUsageFlags bits; default digitalSignature for leaves, keyCertSign|cRLSign for CAs. */
  keyUsage?: number;
  keyUsageCritical?: boolean;
  basicConstraints?: boolean;
  eku?: string[];
  notBefore?: Date;
  notAfter?: Date;
  hash?: 'sha256' | 'sha1' | 'sha384';
  crl?: boolean;
  org?: { C: string; ST: string; O: string };
}

let serial = 1;

function nameFor(cn: string, org: { C: string; ST: string; O: string }): x509.Name {
  const rdn = (type: string, value: string) =>
    new x509.RelativeDistinguishedName([new x509.AttributeTypeAndValue({ type, value: new x509.AttributeValue({ utf8String: value }) })]);
  return new x509.Name([rdn('2.5.4.6', org.C), rdn('2.5.4.8', org.ST), rdn('2.5.4.10', org.O), rdn('2.5.4.3', cn)]);
}

function signatureAlgorithm(key: KeyObject, hash: string): x509.AlgorithmIdentifier {
  if (key.asymmetricKeyType === 'ec') {
    const oid = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha1: '1.2.840.10045.4.1' }[hash]!;
    return new x509.AlgorithmIdentifier({ algorithm: oid });
  }
  const oid = { sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha1: '1.2.840.113549.1.1.5' }[hash]!;
  return new x509.AlgorithmIdentifier({ algorithm: oid, parameters: null });
}

function ext(extnID: string, critical: boolean, value: unknown): x509.Extension {
  return new x509.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

export const ORG = { C: 'US', ST: 'WA', O: 'tollgate-test' };

export function makeCert(options: CertOptions): X509Certificate {
  const org = options.org ?? ORG;
  const ca = options.ca ?? false;
  const subject = nameFor(options.cn, org);
  const issuerName = options.issuer ? AsnConvert.parse(options.issuer.cert.raw, x509.Certificate).tbsCertificate.subject : subject;
  const signer = options.issuer?.key ?? options.key;
  const hash = options.hash ?? 'sha256';
  const algorithm = signatureAlgorithm(signer.privateKey, hash);
  const extensions: x509.Extension[] = [];
  if (options.basicConstraints ?? ca) {
    const bc = new x509.BasicConstraints({ cA: ca });
    if (options.pathLen !== undefined) bc.pathLenConstraint = options.pathLen;
    extensions.push(ext(x509.id_ce_basicConstraints, true, bc));
  }
  const ku = options.keyUsage ?? (ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature);
  if (ku !== 0) extensions.push(ext(x509.id_ce_keyUsage, options.keyUsageCritical ?? true, new x509.KeyUsage(ku)));
  if (options.eku !== undefined) extensions.push(ext(x509.id_ce_extKeyUsage, false, new x509.ExtendedKeyUsage(options.eku)));
  if (options.crl) {
    const dp = new x509.DistributionPoint({
      distributionPoint: new x509.DistributionPointName({ fullName: [new x509.GeneralName({ uniformResourceIdentifier: 'http://crl.invalid/ca.crl' })] }),
    });
    extensions.push(ext(x509.id_ce_cRLDistributionPoints, false, new x509.CRLDistributionPoints([dp])));
  }
  const tbs = new x509.TBSCertificate({
    version: x509.Version.v3,
    serialNumber: new Uint8Array([serial++ & 0x7f, 1, 2, 3]).buffer,
    signature: algorithm,
    issuer: issuerName,
    validity: new x509.Validity({ notBefore: options.notBefore ?? new Date('2020-01-01T00:00:00Z'), notAfter: options.notAfter ?? new Date('2120-01-01T00:00:00Z') }),
    subject,
    subjectPublicKeyInfo: AsnConvert.parse(options.key.publicKey.export({ type: 'spki', format: 'der' }), x509.SubjectPublicKeyInfo),
    extensions: new x509.Extensions(extensions),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign(hash, tbsDer, signer.privateKey);
  const cert = new x509.Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) });
  return new X509Certificate(Buffer.from(AsnConvert.serialize(cert)));
}

/** A root CA and a leaf it issued (RSA 2048 leaf: PS256). */
export function simplePki(options: { leafKey?: TestKey; leaf?: Partial<CertOptions> } = {}) {
  const rootKey = rsaKey();
  const root = makeCert({ cn: 'Test Root', key: rootKey, ca: true });
  const leafKey = options.leafKey ?? rsaKey();
  const leaf = makeCert({ cn: 'Test Signer', key: leafKey, issuer: { cert: root, key: rootKey }, eku: ['1.3.6.1.5.5.7.3.3'], ...options.leaf });
  return { rootKey, root, leafKey, leaf };
}

export interface EnvelopeOptions {
  key: TestKey;
  alg: string;
  chain: X509Certificate[];
  target: { digest: string; size: number; mediaType: string };
  /** Extra or replacing protected header members (undefined deletes). */
  protected?: Record<string, unknown>;
  header?: Record<string, unknown>;
  payload?: unknown;
}

export function defaultProtected(alg: string): Record<string, unknown> {
  return {
    alg,
    crit: ['io.cncf.notary.signingScheme'],
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': 'notary.x509',
    'io.cncf.notary.signingTime': '2024-01-01T00:00:00Z',
  };
}

function signInput(alg: string, key: TestKey, input: Buffer): Buffer {
  const hash = `sha${alg.slice(2)}`;
  if (alg.startsWith('PS')) return sign(hash, input, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  if (alg.startsWith('ES')) return sign(hash, input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  if (alg.startsWith('RS')) return sign(hash, input, key.privateKey);
  if (alg.startsWith('HS')) return createHmac(hash, 'secret').update(input).digest();
  return Buffer.alloc(0);
}

/** A Notary Project JWS envelope signed as notation signs it (with whatever headers the test wants). */
export function signEnvelope(options: EnvelopeOptions): Buffer {
  const header: Record<string, unknown> = defaultProtected(options.alg);
  for (const [k, v] of Object.entries(options.protected ?? {})) {
    if (v === undefined) delete header[k];
    else header[k] = v;
  }
  const protectedB64 = Buffer.from(JSON.stringify(header)).toString('base64url');
  const payload = options.payload ?? { targetArtifact: options.target };
  const payloadB64 = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64url');
  const signature = signInput(options.alg, options.key, Buffer.from(`${protectedB64}.${payloadB64}`));
  return Buffer.from(
    JSON.stringify({
      payload: payloadB64,
      protected: protectedB64,
      header: { x5c: options.chain.map((c) => c.raw.toString('base64')), 'io.cncf.notary.signingAgent': 'tollgate-test', ...options.header },
      signature: signature.toString('base64url'),
    }),
  );
}
