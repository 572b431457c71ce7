import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NotationTrustStore, NotationVerifyOptions } from '@tollgate/core';

export const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/notation/', import.meta.url));

export function fixture(name: string): Buffer {
  return readFileSync(FIXTURES + name);
}

export function fixtureCert(name: string): X509Certificate {
  return new X509Certificate(fixture(name));
}

export function envelopeJson(name: string): { payload: string; protected: string; header: Record<string, unknown> & { x5c: string[] }; signature: string } {
  return JSON.parse(fixture(name).toString('utf8'));
}

/** x5c[i] of a fixture envelope. */
export function x5c(name: string, i: number): X509Certificate {
  return new X509Certificate(Buffer.from(envelopeJson(name).header.x5c[i]!, 'base64'));
}

/** ca_valid/sa_valid/ca_expired target: the docker manifest notation-go signed (we do not have its bytes). */
export const DOCKER_TARGET = {
  digest: 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e',
  size: 528,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
};

export const OCI_TARGET = {
  digest: 'sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0',
  size: 481,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
};

export const TIMESTAMP_TARGET = {
  digest: 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda',
  size: 528,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
};

export const TEST_ROOT_IDENTITY = 'x509.subject: CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US';

export function store(partial: Partial<NotationTrustStore>): NotationTrustStore {
  return { ca: [], signingAuthority: [], tsa: [], ...partial };
}

export function caOptions(level: NotationVerifyOptions['level'] = 'strict', identities = ['*']): NotationVerifyOptions {
  return { trustStore: store({ ca: [fixtureCert('NotationTestRoot.pem')] }), trustedIdentities: identities, level };
}

/** A copy of a fixture envelope with one character of a member changed. */
export function flipped(name: string, member: 'payload' | 'protected' | 'signature', at = 10): Buffer {
  const env = envelopeJson(name);
  const value = env[member];
  const c = value[at]!;
  env[member] = value.slice(0, at) + (c === 'A' ? 'B' : 'A') + value.slice(at + 1);
  return Buffer.from(JSON.stringify(env));
}
