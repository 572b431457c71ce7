import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  attestImage,
  fetchSignatures,
  loadTrustedRoot,
  signImage,
  verifyImage,
  verifyImageAttestations,
  verifyImageSignatures,
  type FetchedSignatures,
  type ImageTrust,
  type TrustedRoot,
} from '@tollgate/core';
import { startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../../../../test/support/sigstore-mock.js';
import { clientFor, pushTestImage } from './helpers.js';

let registry: RunningRegistry;
let sigstore: SigstoreMock;
let trustedRoot: TrustedRoot;
let digest: string;
let signedBundle: Record<string, any>;
const ALICE = 'alice@example.com';

beforeAll(async () => {
  [registry, sigstore] = await Promise.all([startRegistry(), startSigstoreMock()]);
  trustedRoot = loadTrustedRoot(sigstore.trustedRootJson, 'mock trusted root');
  digest = await pushTestImage(registry, 'team/app:v1', { 'app/main': 'binary v1' });
  const signed = await signImage(`${registry.host}/team/app:v1`, keyless(ALICE), { client: clientFor(registry) });
  signedBundle = signed.bundle as Record<string, any>;
  await attestImage(`${registry.host}/team/app:v1`, keyless(ALICE), {
    client: clientFor(registry),
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: { buildDefinition: { buildType: 'https://tollgate.dev/test' } },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), sigstore?.stop()]);
});

function keyless(subject: string, issuer?: string) {
  return { identityToken: sigstore.mintToken(subject, issuer), fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl, tsaUrl: sigstore.tsaUrl };
}

function trust(subject: { subject?: string; subjectRegexp?: string }, issuer: { issuer?: string; issuerRegexp?: string } = { issuer: sigstore.issuer }): ImageTrust {
  return { trustedRoot, identity: { ...subject, ...issuer } };
}

async function fetchedWith(bundle: unknown): Promise<FetchedSignatures> {
  return { digest, problems: [], signatures: [{ kind: 'bundle', id: 'referrer test', source: 'fallback-tag', manifestDigest: 'sha256:' + '0'.repeat(64), bytes: new TextEncoder().encode(JSON.stringify(bundle)) }] };
}

describe('keyless round trip, offline against @sigstore/mock (Fulcio, Rekor v1, TSA) and a real docker-registry', () => {
  it('the signature verifies with the exact identity and issuer, and with anchored regexps', async () => {
    const client = clientFor(registry);
    const exact = await verifyImage(`${registry.host}/team/app:v1`, trust({ subject: ALICE }), { client });
    expect(exact.reasons).toEqual([]);
    expect(exact.ok).toBe(true);
    const passed = exact.examined.find((e) => e.ok)!;
    expect(passed.signer).toEqual({ identity: ALICE, issuer: sigstore.issuer });
    expect(passed.tlogEntries).toBe(1);
    const regexp = await verifyImage(`${registry.host}/team/app:v1`, trust({ subjectRegexp: '.*@example\\.com' }, { issuerRegexp: 'https://oidc\\.tollgate\\..*' }), { client });
    expect(regexp.ok).toBe(true);
  });

  it('the attestation verifies for its predicate type, not for another, and is not a signature', async () => {
    const client = clientFor(registry);
    const good = await verifyImage(`${registry.host}/team/app:v1`, trust({ subject: ALICE }), { client, predicateType: 'https://slsa.dev/provenance/v1' });
    expect(good.ok).toBe(true);
    const statement = good.examined.find((e) => e.ok)!.statement!;
    expect(statement.subject[0]).toEqual({ name: `${registry.host}/team/app`, digest: { sha256: digest.slice(7) } });
    const other = await verifyImage(`${registry.host}/team/app:v1`, trust({ subject: ALICE }), { client, predicateType: 'https://spdx.dev/Document' });
    expect(other.ok).toBe(false);
  });

  it('wrong identity, wrong issuer, unanchored prefix: each fails with its own reason', async () => {
    const client = clientFor(registry);
    const ref = `${registry.host}/team/app:v1`;
    const wrongIdentity = await verifyImage(ref, trust({ subject: 'mallory@example.com' }), { client });
    const wrongIssuer = await verifyImage(ref, trust({ subject: ALICE }, { issuer: 'https://accounts.google.com' }), { client });
    const prefix = await verifyImage(ref, trust({ subjectRegexp: 'alice@example' }), { client });
    for (const r of [wrongIdentity, wrongIssuer, prefix]) expect(r.ok).toBe(false);
    expect(wrongIdentity.examined[0]!.reasons[0]).toMatch(/certificate identity "alice@example.com" does not match "mallory@example.com"/);
    expect(wrongIssuer.examined[0]!.reasons[0]).toMatch(/OIDC issuer .* does not match "https:\/\/accounts.google.com"/);
    expect(prefix.examined[0]!.reasons[0]).toMatch(/does not match \/\^\(\?:alice@example\)\$\//);
  });

  it('tampered manifest: the referrer copied to another manifest fails (subject), as does the bundle over another digest', async () => {
    const client = clientFor(registry);
    const tampered = await pushTestImage(registry, 'team/app:tampered', { 'app/main': 'binary v1 + backdoor' });
    // Attach the genuine referrer to the tampered manifest's fallback index, as an attacker with push rights could.
    const genuine = await client.referrers('team/app', digest);
    const { addToFallbackIndex } = await import('@tollgate/core');
    for (const m of genuine.index.manifests) await addToFallbackIndex(client, 'team/app', tampered, m);
    const result = await verifyImage(`${registry.host}/team/app:tampered`, trust({ subject: ALICE }), { client });
    expect(result.ok).toBe(false);
    expect(result.examined[0]!.reasons[0]).toMatch(/subject is sha256:.*not sha256:/);
    // The bundle verified directly against the tampered digest: the in-toto subject does not match.
    const direct = await verifyImageSignatures(tampered, undefined, { ...(await fetchedWith(signedBundle)), digest: tampered }, trust({ subject: ALICE }));
    expect(direct.ok).toBe(false);
    expect(direct.examined[0]!.reasons[0]).toMatch(/is not a subject of the in-toto statement/);
  });

  it('moved tag fails for the new digest', async () => {
    const client = clientFor(registry);
    await pushTestImage(registry, 'team/app:v1', { 'app/main': 'binary v2' });
    const moved = await verifyImage(`${registry.host}/team/app:v1`, trust({ subject: ALICE }), { client });
    expect(moved.ok).toBe(false);
    expect(moved.digest).not.toBe(digest);
    expect(moved.reasons[0]).toMatch(/no signatures are attached/);
    expect((await verifyImage(`${registry.host}/team/app@${digest}`, trust({ subject: ALICE }), { client })).ok).toBe(true);
  });

  it('removed tlog entry fails unless the log is waived (and then the TSA timestamp carries the certificate time)', async () => {
    const stripped = structuredClone(signedBundle);
    stripped.verificationMaterial.tlogEntries = [];
    const result = await verifyImageSignatures(digest, undefined, await fetchedWith(stripped), trust({ subject: ALICE }));
    expect(result.ok).toBe(false);
    expect(result.examined[0]!.reasons[0]).toMatch(/no transparency log entry/);
    const waived = await verifyImageSignatures(digest, undefined, await fetchedWith(stripped), trust({ subject: ALICE }), { insecureIgnoreTlog: true });
    expect(waived.ok).toBe(true);
  });

  it('the same log entry twice counts once', async () => {
    const doubled = structuredClone(signedBundle);
    doubled.verificationMaterial.tlogEntries = [doubled.verificationMaterial.tlogEntries[0], doubled.verificationMaterial.tlogEntries[0]];
    const result = await verifyImageSignatures(digest, undefined, await fetchedWith(doubled), trust({ subject: ALICE }), { tlogThreshold: 2 });
    expect(result.ok).toBe(false);
    expect(result.examined[0]!.reasons[0]).toMatch(/expected 2 distinct transparency log entries, found 1/);
  });

  it('substituted certificate (another identity\'s, same CA) is refused (chain at the signing time, or signature)', async () => {
    const other = await pushTestImage(registry, 'team/other:v1', { x: 'y' });
    const mallory = await signImage(`${registry.host}/team/other@${other}`, keyless('mallory@example.com'), { client: clientFor(registry) });
    const swapped = structuredClone(signedBundle);
    swapped.verificationMaterial.certificate = (mallory.bundle as Record<string, any>).verificationMaterial.certificate;
    const result = await verifyImageSignatures(digest, undefined, await fetchedWith(swapped), trust({ subjectRegexp: '.*' }));
    expect(result.ok).toBe(false);
    expect(result.examined[0]!.reasons[0]).toMatch(/CERTIFICATE_ERROR|SIGNATURE|TLOG_BODY_ERROR/); // chain at the signing time, or the signature itself
    expect(result.examined[0]!.reasons[0]).not.toMatch(/does not match/);
  });

  it('a bundle we write parses with @sigstore/bundle and verifies with @sigstore/verify directly', async () => {
    const bundle = bundleFromJSON(signedBundle);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    const verifier = new Verifier(toTrustMaterial(trustedRoot), { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
    const signer = verifier.verify(toSignedEntity(bundle));
    expect(signer.identity?.subjectAlternativeName).toBe(ALICE);
    expect(signer.identity?.extensions?.issuer).toBe(sigstore.issuer);
    const payload = JSON.parse(Buffer.from(bundle.content.$case === 'dsseEnvelope' ? bundle.content.dsseEnvelope.payload : []).toString());
    expect(payload.subject[0].digest.sha256).toBe(digest.slice(7));
    expect(payload.predicateType).toBe('https://sigstore.dev/cosign/sign/v1');
  });

  it('the fetch step returns bytes only; attestations and signatures are told apart by the signed statement', async () => {
    const fetched = await fetchSignatures(clientFor(registry), 'team/app', digest);
    expect(fetched.signatures.length).toBe(2);
    const asAttestation = await verifyImageAttestations(digest, undefined, fetched, trust({ subject: ALICE }), { predicateType: 'https://sigstore.dev/cosign/sign/v1' });
    expect(asAttestation.ok).toBe(true); // the signature statement is itself an attestation of that type
    const asSignature = await verifyImageSignatures(digest, undefined, fetched, trust({ subject: ALICE }));
    expect(asSignature.examined.filter((e) => e.ok)).toHaveLength(1);
  });
});
