import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publicGoodTrustedRoot, publicGoodTrustedRootViaTuf, signBlob, TollgateError, verifyBlobBundle } from '@tollgate/core';
import { freePort } from '../../../../test/support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../../../../test/support/sigstore-mock.js';
import { TufRepo } from '../support/tuf-repo.js';

let sigstore: SigstoreMock;
let repo: TufRepo;
let cacheDir: string;
const targetBytes = () => Buffer.from(sigstore.trustedRootJson);

beforeAll(async () => {
  sigstore = await startSigstoreMock();
});
afterAll(async () => {
  await sigstore?.stop();
});
beforeEach(async () => {
  repo = new TufRepo();
  await repo.start();
  cacheDir = mkdtempSync(join(tmpdir(), 'tollgate-tuf-'));
});
afterEach(async () => {
  await repo.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

async function expectTufFailure(promise: Promise<unknown>, pattern: RegExp): Promise<TollgateError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(TollgateError);
  expect((error as TollgateError).code).toBe('TUF_VERIFICATION_FAILED');
  expect((error as TollgateError).message).toMatch(pattern);
  expect((error as TollgateError).message).not.toContain('\n');
  return error as TollgateError;
}

const via = (extra: Record<string, unknown> = {}) => publicGoodTrustedRootViaTuf({ cacheDir, mirrorUrl: repo.url, tufRoot: repo.rootJson, ...extra });

describe('publicGoodTrustedRootViaTuf against a real signed TUF repository on loopback', () => {
  it('(a) a fresh cache fetches the signed trusted_root.json target, and a bundle signed by that Sigstore verifies with it', async () => {
    repo.publish({ targetBytes: targetBytes(), version: 1 });
    const result = await via();
    expect(result.source).toBe('tuf');
    expect(result.notice).toBeUndefined();
    expect(repo.requests).toEqual(expect.arrayContaining(['/2.root.json', '/timestamp.json', '/1.snapshot.json', '/1.targets.json']));
    expect(repo.requests.some((r) => r.startsWith('/targets/') && r.endsWith('.trusted_root.json'))).toBe(true);

    const artifact = Buffer.from('artifact signed by the mock Sigstore');
    const bundle = await signBlob(artifact, { identityToken: sigstore.mintToken('alice@example.com'), fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl, tsaUrl: sigstore.tsaUrl });
    const identity = { subject: 'alice@example.com', issuer: sigstore.issuer };
    const verified = await verifyBlobBundle(bundle, artifact, { trustedRoot: result.trustedRoot, identity });
    expect(verified.reasons).toEqual([]);
    expect(verified.ok).toBe(true);
    // and the embedded public-good root does not vouch for the mock Fulcio: the TUF root is what made it pass
    const embedded = await verifyBlobBundle(bundle, artifact, { trustedRoot: publicGoodTrustedRoot(), identity });
    expect(embedded.ok).toBe(false);
  });

  it('a new version on the mirror replaces the cached target; an unreachable mirror then serves the cache with a notice', async () => {
    repo.publish({ targetBytes: Buffer.from(JSON.stringify({ ...JSON.parse(sigstore.trustedRootJson) })), version: 1 });
    expect((await via()).source).toBe('tuf');
    repo.publish({ targetBytes: targetBytes(), version: 2 });
    expect((await via()).source).toBe('tuf');
    const url = repo.url;
    await repo.stop();
    const cached = await publicGoodTrustedRootViaTuf({ cacheDir, mirrorUrl: url, tufRoot: repo.rootJson });
    expect(cached.source).toBe('tuf-cache');
    expect(cached.notice).toMatch(/^notice: the TUF mirror http:\/\/127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\); using the cached Sigstore trusted root/);
    expect(cached.notice).not.toContain('\n');
    expect(cached.trustedRoot).toEqual((await (async () => { await repo.start(); return via(); })()).trustedRoot);
  });

  it('(b) a tampered target fails closed, even with a valid cache to fall back to', async () => {
    repo.publish({ targetBytes: targetBytes(), version: 1 });
    await via();
    const other = Buffer.from(JSON.stringify({ ...JSON.parse(sigstore.trustedRootJson), tlogs: [] }));
    repo.publish({ targetBytes: other, version: 2, tamperTarget: targetBytes().subarray(0, other.length) });
    await expectTufFailure(via(), /failed verification: .*; not falling back to an older root/);
  });

  it('(b) timestamp, snapshot or targets signed by a key the root does not list fails closed', async () => {
    for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
      repo.publish({ targetBytes: targetBytes(), version: 1, wrongKeyFor: role });
      await expectTufFailure(via(), /failed verification/);
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('(b) expired metadata and a timestamp rollback fail closed', async () => {
    repo.publish({ targetBytes: targetBytes(), version: 1, expires: { timestamp: '2001-01-01T00:00:00Z' } });
    await expectTufFailure(via(), /expired/i);
    rmSync(cacheDir, { recursive: true, force: true });
    repo.publish({ targetBytes: targetBytes(), version: 3 });
    await via();
    repo.publish({ targetBytes: targetBytes(), version: 3, timestampVersion: 2 });
    await expectTufFailure(via(), /failed verification/);
  });

  it('(b) garbage, truncated or oversize metadata and an oversize target fail closed', async () => {
    repo.publish({ targetBytes: targetBytes(), version: 1 });
    const good = repo.files.get('/timestamp.json')!;
    for (const bad of [Buffer.from('not json'), good.subarray(0, good.length - 9), Buffer.alloc(0)]) {
      repo.files.set('/timestamp.json', bad);
      await expectTufFailure(via(), /failed verification/);
    }
    repo.files.set('/timestamp.json', Buffer.alloc(64 * 1024 * 1024, 0x20)); // over tuf-js's timestamp limit
    await expectTufFailure(via(), /failed verification/);
    repo.publish({ targetBytes: targetBytes(), version: 1, declaredLength: 2 * 1024 * 1024 });
    await expectTufFailure(via(), /over the 1048576-byte limit/);
  });

  it('a signed target that is not a valid trusted root is refused with INVALID_TRUSTED_ROOT', async () => {
    repo.publish({ targetBytes: Buffer.from('{"mediaType":"nope"}'), version: 1 });
    await expect(via()).rejects.toMatchObject({ code: 'INVALID_TRUSTED_ROOT' });
  });

  it('(c) an unreachable mirror falls back to the embedded root, with a one-line notice', async () => {
    const result = await publicGoodTrustedRootViaTuf({ cacheDir, mirrorUrl: `http://127.0.0.1:${await freePort()}` /* bound and released: nothing listens */, tufRoot: repo.rootJson });
    expect(result.source).toBe('embedded');
    expect(result.trustedRoot).toBe(publicGoodTrustedRoot());
    expect(result.notice).toMatch(/^notice: the TUF mirror http:\/\/127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\) and there is no valid cache; using the Sigstore public-good trusted root embedded in tollgate$/);
  });

  it('(c) an HTTP error or a mirror that never answers within the deadline also falls back, with the reason', async () => {
    repo.files = new Map(); // every path 404s
    const missing = await via();
    expect(missing.source).toBe('embedded');
    expect(missing.notice).toMatch(/\(HTTP 404 for \/timestamp\.json\)/);

    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => void sockets.add(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const slow = await publicGoodTrustedRootViaTuf({ cacheDir, mirrorUrl: `http://127.0.0.1:${port}`, tufRoot: repo.rootJson, timeoutMs: 300 });
      expect(slow.source).toBe('embedded');
      expect(slow.notice).toMatch(/timed out after 300 ms/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('(d) offline never opens a connection: embedded root on an empty cache, the cached target once there is one', async () => {
    repo.publish({ targetBytes: targetBytes(), version: 1 });
    const empty = await via({ offline: true });
    expect(empty.source).toBe('embedded');
    expect(empty.notice).toBeUndefined();
    expect(repo.requests).toEqual([]);
    await via();
    repo.requests = [];
    const cached = await via({ offline: true });
    expect(cached.source).toBe('tuf-cache');
    expect(repo.requests).toEqual([]);
  });

  it('the default mirror starts from the public-good root and target that @sigstore/tuf ships (offline)', async () => {
    const result = await publicGoodTrustedRootViaTuf({ cacheDir, offline: true });
    expect(result.source).toBe('embedded');
    expect(result.trustedRoot).toEqual(publicGoodTrustedRoot());
  });

  it('hostile options are refused with a clear error', async () => {
    for (const mirrorUrl of ['not a url', 'ftp://example.com', 'https://user:pw@example.com', 'https://example.com/?q=1', 'file:///etc']) {
      await expect(publicGoodTrustedRootViaTuf({ cacheDir, mirrorUrl })).rejects.toMatchObject({ code: 'USAGE' });
    }
    for (const timeoutMs of [0, -1, 1.5, Number.NaN, 1e9]) {
      await expect(publicGoodTrustedRootViaTuf({ cacheDir, timeoutMs })).rejects.toMatchObject({ code: 'USAGE' });
    }
    await expect(via({ tufRoot: Buffer.alloc(600 * 1024) })).rejects.toMatchObject({ code: 'USAGE' });
    await expectTufFailure(publicGoodTrustedRootViaTuf({ cacheDir: join(cacheDir, 'garbage'), mirrorUrl: repo.url, tufRoot: Buffer.from('{"signed":') }), /failed verification/);
    const file = join(cacheDir, 'a-file');
    writeFileSync(file, 'x');
    await expect(publicGoodTrustedRootViaTuf({ cacheDir: file, offline: true })).rejects.toMatchObject({ code: 'STORE_ERROR' });
  });
});
