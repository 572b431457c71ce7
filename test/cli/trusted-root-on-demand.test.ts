import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { pushTestImage } from '../../packages/core/test/signing/helpers.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
// A keyed verification that ignores the transparency log needs no Sigstore root from the network: the TUF mirror
// must not be contacted at all (issue 10, item 12). The mirror here is a loopback server of the test's own that
// counts every request it gets (and answers 404, which the TUF client takes as an unreachable mirror).
const NOTICE = /TUF mirror|notice/i;

let registry: RunningRegistry;
let mirror: Server;
let mirrorUrl: string;
let requests = 0;
let dir: string;
let data: string;
let pub: string;
let cosignKey: string;
let ref: string;
let artifact: string;
let bundle: string;

beforeAll(async () => {
  registry = await startRegistry();
  mirror = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
  mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'tollgate-root-on-demand-'));
  data = join(dir, 'data');
  // A cosign-format key pair with an empty password, made by tollgate itself (no ../shared needed).
  const generated = await runCli(['generate-key-pair'], { cwd: dir, env: { TOLLGATE_PASSWORD: '' } });
  expect(generated.code, generated.stderr).toBe(0);
  cosignKey = join(dir, 'cosign.key');
  pub = join(dir, 'cosign.pub');

  await pushTestImage(registry, 'ondemand/app:v1', { 'bin/app': 'v1' });
  ref = `${registry.host}/ondemand/app:v1`;
  const env = { TOLLGATE_PASSWORD: '', TOLLGATE_DATA: data };
  const predicate = join(dir, 'provenance.json');
  writeFileSync(predicate, JSON.stringify({ buildDefinition: { buildType: 'test' } }));
  artifact = join(dir, 'a.txt');
  writeFileSync(artifact, 'hello\n');
  bundle = join(dir, 'a.sigstore.json');
  const signs = [
    await runCli(['sign', ref, '--key', cosignKey, '--tlog-upload=false'], { env }),
    await runCli(['attest', ref, '--key', cosignKey, '--tlog-upload=false', '--type', 'slsaprovenance1', '--predicate', predicate], { env }),
    await runCli(['sign-blob', artifact, '--bundle', bundle, '--key', cosignKey, '--tlog-upload=false'], { env }),
  ];
  for (const signed of signs) expect(signed.code, signed.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await new Promise<void>((resolve) => (mirror ? mirror.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[]) => runCli([...args, '--tuf-mirror', mirrorUrl], { env: { TOLLGATE_DATA: data } });

describe('the Sigstore trusted root is fetched only when the verification needs it', () => {
  it('sign, attest and sign-blob with a key and no tlog made no request to any mirror', () => {
    expect(requests).toBe(0);
  });

  it('verify, verify-attestation and verify-blob --key --insecure-ignore-tlog: no request to the TUF mirror, no notice', async () => {
    const results = [
      await run(['verify', ref, '--key', pub, '--insecure-ignore-tlog']),
      await run(['verify-attestation', ref, '--type', 'slsaprovenance1', '--key', pub, '--insecure-ignore-tlog']),
      await run(['verify-blob', artifact, '--bundle', bundle, '--key', pub, '--insecure-ignore-tlog']),
    ];
    for (const result of results) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(NOTICE);
    }
    expect(requests).toBe(0);
    expect(readdirSync(dir)).not.toContain('data'); // no TUF cache was created either
  });

  it('with the transparency log required, the same verification does ask the mirror (the counter works)', async () => {
    const result = await run(['verify', ref, '--key', pub]);
    expect(requests).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/notice: the TUF mirror http:\/\/127\.0\.0\.1:\d+ could not be reached/);
    expect(result.code).toBe(1); // signed without a log entry
  });
});
