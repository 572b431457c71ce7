/**
 * The proxy's own HTTPS listener, with a self-signed certificate made by openssl in the test: skopeo verifies it
 * through --src-cert-dir, refuses it without, and a Node https client trusting the certificate reads byte-exact blobs.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, type PushedImage } from './support/raw-image.js';
import { skopeo } from './support/skopeo.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const execFileAsync = promisify(execFile);
let work: string;
let registry: RunningRegistry;
let proxy: RunningProxy;
let image: PushedImage;
let certDir: string;
let cert: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-proxy-tls-'));
  cert = join(work, 'tls.crt');
  const key = join(work, 'tls.key');
  await execFileAsync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=tollgate test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert]);
  certDir = join(work, 'certs');
  await mkdir(certDir);
  await copyFile(cert, join(certDir, 'ca.crt'));
  registry = await startRegistry();
  image = await pushRawImage(registry.host, 'team/app', '1', [256 * 1024]);
  proxy = await startProxy({ gate: allowListGate({ 'lab/team/app': [image.digest] }), upstreams: [{ name: 'lab', url: registry.url, default: true }], extra: { tls: { cert, key } } });
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

it('listens on https', () => {
  expect(proxy.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
});

it('skopeo pulls over verified TLS with the certificate in --src-cert-dir', async () => {
  const dir = join(work, 'pulled');
  const result = await skopeo(['copy', '--retry-times', '0', '--src-tls-verify=true', '--src-cert-dir', certDir, `docker://${proxy.host}/team/app:1`, `oci:${dir}:x`]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  // skopeo rewrites this minimal manifest in the layout, so the digest is checked with inspect, over verified TLS too.
  const inspect = await skopeo(['inspect', '--retry-times', '0', '--tls-verify=true', '--cert-dir', certDir, '--format', '{{.Digest}}', `docker://${proxy.host}/team/app:1`]);
  expect(inspect.code).toBe(0);
  expect(inspect.stdout.trim()).toBe(image.digest);
});

it('skopeo refuses the unknown certificate without it', async () => {
  const result = await skopeo(['inspect', '--retry-times', '0', '--tls-verify=true', `docker://${proxy.host}/team/app:1`]);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toMatch(/x509|certificate/i);
});

function getBytes(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

it('a Node https client trusting the certificate gets byte-exact content; plain HTTP to the port gets nothing', async () => {
  const ca = await readFile(cert);
  const manifest = await getBytes(`${proxy.url}/v2/team/app/manifests/1`, ca, { accept: MANIFEST_ACCEPT });
  expect(manifest.status).toBe(200);
  expect(manifest.body.equals(image.manifest)).toBe(true);
  const blob = await getBytes(`${proxy.url}/v2/team/app/blobs/${image.layers[0]!.digest}`, ca);
  expect(blob.status).toBe(200);
  expect(blob.body.equals(image.layers[0]!.bytes)).toBe(true);
  await expect(getBytes(`${proxy.url}/v2/`, Buffer.from(''))).rejects.toThrow();
  const plain = await new Promise<number | 'error'>((resolve) => {
    httpGet(`${proxy.url.replace('https:', 'http:')}/v2/`, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', () => resolve('error'));
  });
  expect(plain === 'error' || plain === 400).toBe(true);
});
