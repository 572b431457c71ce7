/**
 * The webhook's certificate is read again while it runs: a rotated pair is served on the next connection without a
 * restart; a half-rotated pair (new certificate, old key) is skipped and the old one kept; a pair that does not fit
 * stops the start-up with a message.
 */
import { once } from 'node:events';
import { copyFile, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowAllGate, startWebhook, type WebhookServer } from '../../packages/proxy/src/index.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';
import { makeCert, type TestCert } from './support/certs.js';
import { send } from './support/review.js';

let work: string;
let proxy: RunningProxy;
let webhook: WebhookServer;
let first: TestCert;
let second: TestCert;
const live = () => ({ cert: join(work, 'live.crt'), key: join(work, 'live.key') });

/** Replaces a file the way a Secret volume or cert-manager does: written aside, then renamed over it. */
async function replace(from: string, to: string): Promise<void> {
  await copyFile(from, `${to}.new`);
  await rename(`${to}.new`, to);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-webhook-tls-'));
  first = await makeCert(work, 'first');
  second = await makeCert(work, 'second');
  await copyFile(first.cert, live().cert);
  await copyFile(first.key, live().key);
  // No upstream is contacted here: only the TLS side of the webhook is under test.
  proxy = await startProxy({ gate: allowAllGate, upstreams: [{ name: 'x', url: 'http://127.0.0.1:9', prefix: 'x' }] });
  webhook = await startWebhook(proxy.proxy.core, { proxyHost: proxy.host, listen: { host: '127.0.0.1', port: 0 }, tls: { ...live(), reloadMs: 50 } });
});

afterAll(async () => {
  await webhook?.close();
  await proxy?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

it('serves a rotated certificate without a restart, and keeps the old one while the new pair is incomplete', async () => {
  const fingerprint = (cert: TestCert) => new X509Certificate(cert.pem).fingerprint256;
  expect((await send(`${webhook.url}/healthz`, first.pem, undefined, 'GET')).fingerprint).toBe(fingerprint(first));

  // The new certificate without its key: not a pair, so the first one stays.
  const failed = once(webhook.events, 'tls-reload-failed');
  await replace(second.cert, live().cert);
  await failed;
  const during = await send(`${webhook.url}/healthz`, first.pem, undefined, 'GET');
  expect(during.status).toBe(200);
  expect(during.fingerprint).toBe(fingerprint(first));

  const reloaded = once(webhook.events, 'tls-reloaded');
  await replace(second.key, live().key);
  await reloaded;
  const after = await send(`${webhook.url}/healthz`, second.pem, undefined, 'GET');
  expect(after.status).toBe(200);
  expect(after.fingerprint).toBe(fingerprint(second));
  // A client that trusts only the old certificate no longer connects.
  await expect(send(`${webhook.url}/healthz`, first.pem, undefined, 'GET')).rejects.toThrow(/certificate|self.signed|verify/i);
});

it('refuses to start with a certificate and a key that do not belong together, or a missing file', async () => {
  await expect(startWebhook(proxy.proxy.core, { proxyHost: proxy.host, listen: { host: '127.0.0.1', port: 0 }, tls: { cert: first.cert, key: second.key } })).rejects.toThrow(/do not make a usable pair/);
  await expect(startWebhook(proxy.proxy.core, { proxyHost: proxy.host, listen: { host: '127.0.0.1', port: 0 }, tls: { cert: join(work, 'missing.crt'), key: first.key } })).rejects.toThrow(/cannot read the webhook's TLS cert .*missing\.crt \(ENOENT\)/);
});
