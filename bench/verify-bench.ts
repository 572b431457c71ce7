/**
 * Image signature verification latency. One image in a real local docker-registry (distribution 2.8, so the
 * `sha256-<hex>` referrers tag is what is read), signed three ways:
 *  - keyed: a cosign-style ECDSA P-256 key, logged in Rekor (the offline @sigstore/mock Rekor v1);
 *  - keyless: a Fulcio certificate (mock Fulcio), a Rekor entry and an RFC 3161 timestamp (mock TSA);
 * each fetched once (fetchSignatures), then verified purely (verifyImageSignatures) over and over after a warm-up,
 * with the trust material already loaded. Target: p50 under 5 ms each.
 *  - hostile: an image whose fallback index lists 100 junk bundles (the default limit), verified end to end from
 *    its tag (resolve, list, fetch 100 manifests and blobs, reject each). Target: rejected in under 1 s.
 * Run: pnpm exec tsx bench/verify-bench.ts   (ITERATIONS=… to change the count)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  fetchSignatures,
  generateKeyPair,
  loadTrustedRoot,
  MediaType,
  publicVerificationKey,
  pushBundleReferrer,
  buildReferrerManifest,
  referrersTag,
  RegistryClient,
  signImage,
  verifyImage,
  verifyImageSignatures,
  writeImageToLayout,
  type FetchedSignatures,
  type ImageTrust,
} from '../packages/core/src/index.js';
import { pushOciLayout, skopeoInspectDigest, startRegistry } from '../test/support/registry.js';
import { startSigstoreMock } from '../test/support/sigstore-mock.js';

const ITERATIONS = Number(process.env.ITERATIONS ?? 2000);
const WARMUP = 200;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function time(label: string, iterations: number, fn: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const result = { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  console.log(`${label.padEnd(58)} p50 ${result.p50.toFixed(3).padStart(8)} ms   p99 ${result.p99.toFixed(3).padStart(8)} ms   (n=${iterations})`);
  return result;
}

async function pushImage(host: string, repoAndTag: string, content: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-verify-bench-'));
  try {
    await writeImageToLayout(dir, { tag: 'img', layers: [{ files: [{ path: 'app/main', content }, { path: 'etc/conf', content: 'x' }] }] });
    await pushOciLayout(dir, 'img', host, repoAndTag);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return skopeoInspectDigest(`${host}/${repoAndTag}`);
}

const [registry, sigstore] = await Promise.all([startRegistry(), startSigstoreMock()]);
try {
  const client = new RegistryClient(registry.host, { retries: 0 });
  const trustedRoot = loadTrustedRoot(sigstore.trustedRootJson);
  const key = generateKeyPair('ecdsa-p256');

  const keyedDigest = await pushImage(registry.host, 'bench/keyed:v1', 'keyed');
  await signImage(`${registry.host}/bench/keyed:v1`, { key, rekorUrl: sigstore.rekorUrl }, { client });
  const keyedFetched = await fetchSignatures(client, 'bench/keyed', keyedDigest, { include: 'signatures' });
  const keyedTrust: ImageTrust = { trustedRoot, key: publicVerificationKey(key).key };

  const keylessDigest = await pushImage(registry.host, 'bench/keyless:v1', 'keyless');
  const token = sigstore.mintToken('ci@example.com');
  await signImage(`${registry.host}/bench/keyless:v1`, { identityToken: token, fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl, tsaUrl: sigstore.tsaUrl }, { client });
  const keylessFetched = await fetchSignatures(client, 'bench/keyless', keylessDigest, { include: 'signatures' });
  const keylessTrust: ImageTrust = { trustedRoot, identity: { subject: 'ci@example.com', issuer: sigstore.issuer } };
  const noTsaDigest = await pushImage(registry.host, 'bench/keyless-no-tsa:v1', 'keyless without TSA');
  await signImage(`${registry.host}/bench/keyless-no-tsa:v1`, { identityToken: token, fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl }, { client });
  const noTsaFetched = await fetchSignatures(client, 'bench/keyless-no-tsa', noTsaDigest, { include: 'signatures' });

  const check = async (digest: string, fetched: FetchedSignatures, trust: ImageTrust) => {
    const result = await verifyImageSignatures(digest, undefined, fetched, trust);
    if (!result.ok) throw new Error(`verification failed: ${JSON.stringify(result.examined.map((e) => e.reasons))}`);
  };
  for (let i = 0; i < WARMUP; i++) {
    await check(keyedDigest, keyedFetched, keyedTrust);
    await check(keylessDigest, keylessFetched, keylessTrust);
    await check(noTsaDigest, noTsaFetched, keylessTrust);
  }
  console.log('Signature verification (pure step, fetched once, trust material loaded)');
  const keyed = await time('keyed bundle (P-256 key, Rekor SET + inclusion proof)', ITERATIONS, () => check(keyedDigest, keyedFetched, keyedTrust));
  const keyless = await time('keyless bundle (Fulcio cert + SCT, Rekor, RFC 3161 TSA)', ITERATIONS, () => check(keylessDigest, keylessFetched, keylessTrust));
  const noTsa = await time('keyless bundle (Fulcio cert + SCT, Rekor; no TSA)', ITERATIONS, () => check(noTsaDigest, noTsaFetched, keylessTrust));

  // Hostile: 100 junk bundles listed in the fallback index.
  const hostileDigest = await pushImage(registry.host, 'bench/hostile:v1', 'hostile');
  const subject = { mediaType: MediaType.OciManifest, digest: hostileDigest, size: (await client.getManifest('bench/hostile', hostileDigest)).bytes.byteLength };
  const descriptors = [];
  for (let i = 0; i < 100; i++) {
    const junk = new TextEncoder().encode(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"junk":${i}}}`);
    await pushBundleReferrer(client, 'bench/hostile', subject, junk, { content: 'dsse-envelope', mode: 'never', created: '2026-01-01T00:00:00Z' });
    descriptors.push(buildReferrerManifest(junk, subject, { content: 'dsse-envelope', created: '2026-01-01T00:00:00Z' }).descriptor);
  }
  const index = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: descriptors }));
  await client.putManifest('bench/hostile', referrersTag(hostileDigest), index, MediaType.OciIndex);
  console.log('\nHostile image (100 junk bundles in the fallback index), end to end from the tag, fresh client each run');
  const hostile = await time('resolve + list + fetch 100 + reject', 10, async () => {
    const result = await verifyImage(`${registry.host}/bench/hostile:v1`, keyedTrust, { client: new RegistryClient(registry.host, { retries: 0 }) });
    if (result.ok || result.examined.length !== 100 || result.examined.some((e) => e.ok)) throw new Error('hostile image was not rejected as expected');
  });

  console.log('');
  // Timing targets are reported, not enforced (the machine may be shared); a wrong verdict above exits non-zero.
  const verdict = (name: string, value: number, limit: number) => {
    console.log(`${value < limit ? 'MET ' : 'MISS'}  ${name}: ${value.toFixed(3)} ms (target < ${limit} ms)`);
  };
  verdict('keyed p50', keyed.p50, 5);
  verdict('keyless p50', keyless.p50, 5);
  verdict('keyless (no TSA) p50', noTsa.p50, 5);
  verdict('hostile rejection p50', hostile.p50, 1000);
  verdict('hostile rejection worst', hostile.p99, 1000);
} finally {
  await Promise.all([registry.stop(), sigstore.stop()]);
}
