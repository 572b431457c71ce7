import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TestOptions } from 'vitest';
import type { NotationTrustStore, NotationVerifyOptions } from '@tollgate/core';
import { needsShared, sharedPath } from '../../../../test/support/shared.js';

/** notation-go's fixtures, read in place from ../shared/fixtures/notation (never copied). */
export const FIXTURES = sharedPath('fixtures/notation/');

/** Options for tests that read notation-go's fixtures: skipped, with the reason, without ../shared. */
export const NOTATION_GO = needsShared('fixtures/notation');

export type EnvelopeJson = { payload: string; protected: string; header: Record<string, unknown> & { x5c: string[] }; signature: string };

/**
 * A set of notation fixtures under notation-go's file names: notation-go's own (interop), or envelopes and
 * certificates the tests generate with the same shape, dates and targets (generated.ts), so the checks that are
 * not about interop run without ../shared.
 */
export interface NotationFixtures {
  /** 'notation-go' or 'generated', for test names. */
  name: string;
  /** describe/it options: a skip with its reason when the files are missing. */
  options: TestOptions;
  /** The subject text of the TSA certificate in jwsWithTimestamp.sig's countersignature. */
  tsaSubject: string;
  fixture(name: string): Buffer;
  fixtureCert(name: string): X509Certificate;
  envelopeJson(name: string): EnvelopeJson;
  /** x5c[i] of a fixture envelope. */
  x5c(name: string, i: number): X509Certificate;
  /** Verify options trusting NotationTestRoot.pem as the ca store. */
  caOptions(level?: NotationVerifyOptions['level'], identities?: string[]): NotationVerifyOptions;
  /** A copy of a fixture envelope with one character of a member changed. */
  flipped(name: string, member: 'payload' | 'protected' | 'signature', at?: number): Buffer;
}

export function fixtureSet(name: string, options: TestOptions, tsaSubject: string, read: (file: string) => Buffer): NotationFixtures {
  const set: NotationFixtures = {
    name,
    options,
    tsaSubject,
    fixture: read,
    fixtureCert: (file) => new X509Certificate(read(file)),
    envelopeJson: (file) => JSON.parse(read(file).toString('utf8')),
    x5c: (file, i) => new X509Certificate(Buffer.from(set.envelopeJson(file).header.x5c[i]!, 'base64')),
    caOptions: (level = 'strict', identities = ['*']) => ({ trustStore: store({ ca: [set.fixtureCert('NotationTestRoot.pem')] }), trustedIdentities: identities, level }),
    flipped: (file, member, at = 10) => {
      const env = set.envelopeJson(file);
      const value = env[member];
      const c = value[at]!;
      env[member] = value.slice(0, at) + (c === 'A' ? 'B' : 'A') + value.slice(at + 1);
      return Buffer.from(JSON.stringify(env));
    },
  };
  return set;
}

export const notationGo = fixtureSet('notation-go', NOTATION_GO, 'Globalsign TSA for Advanced', (name) => readFileSync(FIXTURES + name));

export const { fixture, fixtureCert, envelopeJson, x5c, caOptions, flipped } = notationGo;

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
