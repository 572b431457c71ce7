/**
 * Keyless signing without `--identity-token`: the ambient identity of GitHub Actions (a fake token endpoint on
 * loopback serving tokens minted for the Sigstore mock's issuer) and SIGSTORE_ID_TOKEN, `--identity-token @file`,
 * their precedence, and every way a token source can be bad — each one line, exit 2, naming the source. GitHub's
 * token endpoint is asked again after a transient failure (a reset, a 5xx, a 429), at most 3 times in all and within
 * --timeout, never after another 4xx.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../support/cli.js';
import { startFakeGitHubOidc, type FakeGitHubOidc } from '../support/github-actions-oidc.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../support/sigstore-mock.js';
import { pushTestImage } from '../../packages/core/test/signing/helpers.js';

let mock: SigstoreMock;
let gha: FakeGitHubOidc;
let registry: RunningRegistry;
let work: string;
const ciIdentity = 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1';
const gitlabIdentity = 'project_path:org/app:ref_type:tag:ref:v1';
const fileIdentity = 'release@tollgate.test';

const services = () => ['--fulcio-url', mock.fulcioUrl, '--rekor-url', mock.rekorUrl, '--tsa-url', mock.tsaUrl];
const artifact = () => join(work, 'artifact.txt');

function signBlob(extra: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['sign-blob', artifact(), '--bundle', join(work, 'out.sigstore.json'), ...services(), ...extra], { env });
}

async function verifiedIdentity(bundle: string, identity: string): Promise<number> {
  const result = await runCli(['verify-blob', '--offline', artifact(), '--bundle', bundle, '--certificate-identity', identity, '--certificate-oidc-issuer', mock.issuer, '--trusted-root', join(work, 'trusted_root.json')]);
  return result.code;
}

/** A failed run: exit 2, one line on stderr, nothing on stdout. */
function expectOneLineFailure(result: CliResult, ...patterns: RegExp[]): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  for (const pattern of patterns) expect(lines[0]).toMatch(pattern);
}

beforeAll(async () => {
  [mock, gha, registry] = await Promise.all([startSigstoreMock(), startFakeGitHubOidc(), startRegistry()]);
  work = await mkdtemp(join(tmpdir(), 'tollgate-ambient-identity-'));
  await writeFile(artifact(), 'release artifact\n');
  await writeFile(join(work, 'trusted_root.json'), mock.trustedRootJson);
}, 60_000);

afterAll(async () => {
  await Promise.all([mock?.stop(), gha?.stop(), registry?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  gha.answer = { kind: 'token', token: mock.mintToken(ciIdentity) };
  gha.requests.length = 0;
  gha.next.length = 0;
});

describe('keyless identity from the environment', () => {
  it('GitHub Actions: requests audience sigstore with the runner token, says so, and signs as the workflow', async () => {
    const result = await signBlob(['--json'], gha.env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`Using the identity token from GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL) (subject ${ciIdentity}, issuer ${mock.issuer})\n`);
    expect(JSON.parse(result.stdout).identityTokenSource).toBe('github-actions');
    expect(gha.requests).toEqual([{ audience: 'sigstore', authorized: true, apiVersion: '2.0' }]);
    const bundle = join(work, 'out.sigstore.json');
    expect(await verifiedIdentity(bundle, ciIdentity)).toBe(0);
    expect(await verifiedIdentity(bundle, fileIdentity)).toBe(1);
  });

  it('SIGSTORE_ID_TOKEN (GitLab id_tokens) wins over GitHub Actions, which is not asked', async () => {
    gha.answer = { kind: 'status', status: 500 };
    const result = await signBlob([], { ...gha.env, SIGSTORE_ID_TOKEN: mock.mintToken(gitlabIdentity) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`Using the identity token from SIGSTORE_ID_TOKEN (subject ${gitlabIdentity}, issuer ${mock.issuer})\nWrote bundle to ${join(work, 'out.sigstore.json')}\n`);
    expect(gha.requests).toHaveLength(0);
    expect(await verifiedIdentity(join(work, 'out.sigstore.json'), gitlabIdentity)).toBe(0);
  });

  it('--identity-token @file, and the literal token, win over everything ambient', async () => {
    const expired = mock.mintToken(gitlabIdentity, undefined, { exp: Math.floor(Date.now() / 1000) - 60 });
    await writeFile(join(work, 'token.jwt'), `${mock.mintToken(fileIdentity)}\n`);
    const fromFile = await signBlob(['--identity-token', `@${join(work, 'token.jwt')}`, '--json'], { ...gha.env, SIGSTORE_ID_TOKEN: expired });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stderr).toMatch(new RegExp(`^Using the identity token from --identity-token @${join(work, 'token.jwt')} \\(subject ${fileIdentity},`));
    expect(JSON.parse(fromFile.stdout).identityTokenSource).toBe('identity-token-file');
    expect(await verifiedIdentity(join(work, 'out.sigstore.json'), fileIdentity)).toBe(0);

    const literal = await signBlob(['--identity-token', mock.mintToken(fileIdentity), '--json'], { SIGSTORE_ID_TOKEN: expired });
    expect(literal.code, literal.stderr).toBe(0);
    expect(JSON.parse(literal.stdout).identityTokenSource).toBe('identity-token-flag');
    expect(gha.requests).toHaveLength(0);
  });

  it('sign and attest an image with the ambient identity; verify checks the workflow identity', async () => {
    const digest = await pushTestImage(registry, 'ci/app:v1', { 'bin/app': 'ci' });
    const ref = `${registry.host}/ci/app:v1`;
    const signed = await runCli(['sign', ref, ...services(), '--json'], { env: gha.env });
    expect(signed.code, signed.stderr).toBe(0);
    expect(JSON.parse(signed.stdout)).toMatchObject({ digest, identityTokenSource: 'github-actions' });
    const attested = await runCli(['attest', ref, ...services(), '--type', 'filemanifest'], { env: { SIGSTORE_ID_TOKEN: mock.mintToken(gitlabIdentity) } });
    expect(attested.code, attested.stderr).toBe(0);
    expect(attested.stderr).toMatch(/^Using the identity token from SIGSTORE_ID_TOKEN /);
    const trust = ['--certificate-oidc-issuer', mock.issuer, '--trusted-root', join(work, 'trusted_root.json')];
    expect((await runCli(['verify', ref, '--certificate-identity', ciIdentity, ...trust])).code).toBe(0);
    expect((await runCli(['verify-attestation', ref, '--type', 'filemanifest', '--certificate-identity', gitlabIdentity, ...trust])).code).toBe(0);
  });
});

describe('bad identity tokens and token sources: one line naming the source, exit 2', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('an expired token, from each source', async () => {
    const expired = mock.mintToken(ciIdentity, undefined, { exp: now() - 30 });
    const sigstoreRequests = () => [...mock.requests.values()].reduce((a, b) => a + b, 0);
    const before = sigstoreRequests();
    gha.answer = { kind: 'token', token: expired };
    expectOneLineFailure(await signBlob([], gha.env), /GitHub Actions \(ACTIONS_ID_TOKEN_REQUEST_URL\) expired at \d{4}-/);
    expectOneLineFailure(await signBlob([], { SIGSTORE_ID_TOKEN: expired }), /from SIGSTORE_ID_TOKEN expired at/, /get a fresh token/);
    await writeFile(join(work, 'expired.jwt'), expired);
    expectOneLineFailure(await signBlob(['--identity-token', `@${join(work, 'expired.jwt')}`]), /from --identity-token @.*expired\.jwt expired at/);
    // Refused before Fulcio is asked.
    expect(sigstoreRequests()).toBe(before);
  });

  it('a token for another audience (or none)', async () => {
    gha.answer = { kind: 'token', token: mock.mintToken(ciIdentity, undefined, { aud: 'https://github.com/org' }) };
    expectOneLineFailure(await signBlob([], gha.env), /GitHub Actions .* is for audience "https:\/\/github\.com\/org", not "sigstore"/);
    expectOneLineFailure(await signBlob([], { SIGSTORE_ID_TOKEN: mock.mintToken(gitlabIdentity, undefined, { aud: ['gitlab', 'other'] }) }), /SIGSTORE_ID_TOKEN is for audience "gitlab", "other", not "sigstore"/);
    expectOneLineFailure(await signBlob(['--identity-token', mock.mintToken(fileIdentity, undefined, { aud: undefined })]), /from --identity-token is for audience none/);
    // An audience list that includes sigstore is fine.
    const listed = await signBlob([], { SIGSTORE_ID_TOKEN: mock.mintToken(gitlabIdentity, undefined, { aud: ['other', 'sigstore'] }) });
    expect(listed.code, listed.stderr).toBe(0);
  });

  it('not a JWT', async () => {
    expectOneLineFailure(await signBlob([], { SIGSTORE_ID_TOKEN: 'not-a-jwt' }), /SIGSTORE_ID_TOKEN is not a JWT/);
    gha.answer = { kind: 'token', token: 'abc.def' };
    expectOneLineFailure(await signBlob([], gha.env), /GitHub Actions .* is not a JWT/);
    const notJson = `${Buffer.from('{}').toString('base64url')}.${Buffer.from('not json').toString('base64url')}.`;
    expectOneLineFailure(await signBlob(['--identity-token', notJson]), /--identity-token is not a JWT: its claims are not JSON/);
  });

  it('the token endpoint answers a 4xx: not retried, and the error says what to check', async () => {
    gha.answer = { kind: 'status', status: 403 };
    const forbidden = await signBlob([], gha.env);
    expectOneLineFailure(forbidden, /GitHub Actions .* could not be fetched: 127\.0\.0\.1:\d+ answered HTTP 403 \(not retried: a 4xx other than 429 does not change by asking again\); .*`permissions: id-token: write`/);
    expect(gha.requests).toHaveLength(1);
    const wrongRunnerToken = await signBlob([], { ...gha.env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'stale' });
    expectOneLineFailure(wrongRunnerToken, /answered HTTP 401 \(not retried/);
    expect(wrongRunnerToken.stderr).not.toContain('stale');
    expect(gha.requests).toHaveLength(2);
  });

  it('the token endpoint fails every time: 3 attempts, then one line naming its status, in bounded time', async () => {
    gha.answer = { kind: 'status', status: 503 };
    const started = Date.now();
    const result = await signBlob([], gha.env);
    expectOneLineFailure(result, /GitHub Actions .* could not be fetched: 127\.0\.0\.1:\d+ answered HTTP 503, after 3 attempts \(earlier: HTTP 503, HTTP 503\); GitHub's token service is failing or busy for now: re-run the job$/);
    expect(result.stderr).not.toContain(gha.requestToken);
    expect(gha.requests).toHaveLength(3);
    expect(gha.requests.every((r) => r.authorized)).toBe(true);
    // Pauses of about 0.5 s and 1 s between the attempts.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('retries stay within --timeout: a Retry-After past it ends the run at once', async () => {
    gha.answer = { kind: 'status', status: 429, retryAfter: '4' };
    const started = Date.now();
    const result = await signBlob(['--timeout', '2s'], gha.env);
    expectOneLineFailure(result, /answered HTTP 429, and --timeout \(2 s\) leaves no time for another attempt/);
    expect(gha.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('the token endpoint never answers: the run gives up at --timeout', async () => {
    gha.answer = { kind: 'hang' };
    const started = Date.now();
    const result = await signBlob(['--timeout', '1s'], gha.env);
    expectOneLineFailure(result, /GitHub Actions .* could not be fetched: 127\.0\.0\.1:\d+ did not answer within 1 s \(--timeout\)/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('oversized, non-JSON and value-less answers', async () => {
    gha.answer = { kind: 'body', body: Buffer.alloc(1024 * 1024, 0x61) };
    expectOneLineFailure(await signBlob([], gha.env), /the answer declares 1048576 bytes, more than the 65536/);
    gha.answer = { kind: 'body', body: Buffer.alloc(1024 * 1024, 0x61), chunked: true };
    expectOneLineFailure(await signBlob([], gha.env), /the answer is larger than the 65536 bytes/);
    gha.answer = { kind: 'body', body: '<html>sign in</html>', contentType: 'text/html' };
    expectOneLineFailure(await signBlob([], gha.env), /GitHub Actions .* could not be fetched: the answer is not JSON/);
    gha.answer = { kind: 'body', body: '{"count":0}' };
    expectOneLineFailure(await signBlob([], gha.env), /the answer has no "value" string/);
  });

  it('half a GitHub Actions environment, no identity at all, and the interactive flow flags', async () => {
    expectOneLineFailure(await signBlob([], { ACTIONS_ID_TOKEN_REQUEST_URL: gha.requestUrl }), /only ACTIONS_ID_TOKEN_REQUEST_URL is set; .*id-token: write/);
    expectOneLineFailure(await signBlob([]), /give --key <cosign\.key>, or an identity for keyless signing: --identity-token <jwt\|@file>, SIGSTORE_ID_TOKEN, or a GitHub Actions job/);
    expectOneLineFailure(await signBlob(['--oidc-issuer', 'https://oauth2.sigstore.dev/auth'], gha.env), /not supported: use --identity-token or an ambient CI identity/);
    expectOneLineFailure(await signBlob(['--oidc-client-id', 'sigstore'], gha.env), /not supported/);
    expect(gha.requests).toHaveLength(0);
    expectOneLineFailure(await signBlob(['--timeout', 'soon'], gha.env), /--timeout must be a duration/);
  });

  it('a plain-http token endpoint that is not on loopback is refused before any request', async () => {
    expectOneLineFailure(await signBlob([], { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://token.example.com/idtoken?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'x' }), /must be https \(plain http only on loopback\)/);
  });
});

describe('a transient failure of the token endpoint is retried', () => {
  it('a 503 (with Retry-After) then the token: signing proceeds, and says it took a second attempt', async () => {
    gha.next = [{ kind: 'status', status: 503, retryAfter: '1' }];
    const started = Date.now();
    const result = await signBlob(['--json'], gha.env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`Using the identity token from GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL) (subject ${ciIdentity}, issuer ${mock.issuer}); fetched on attempt 2, after HTTP 503\n`);
    expect(JSON.parse(result.stdout).identityTokenSource).toBe('github-actions');
    expect(gha.requests).toHaveLength(2);
    // Retry-After: 1 was honoured.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(await verifiedIdentity(join(work, 'out.sigstore.json'), ciIdentity)).toBe(0);
  });

  it('a connection reset before any answer, then the token', async () => {
    gha.next = [{ kind: 'reset' }];
    const result = await signBlob([], gha.env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^Using the identity token from GitHub Actions \\(ACTIONS_ID_TOKEN_REQUEST_URL\\) \\(subject ${ciIdentity}, issuer [^)]+\\); fetched on attempt 2, after (ECONNRESET|UND_ERR_SOCKET)\n`));
    expect(gha.requests).toHaveLength(2);
  });
});

describe('the bundle written with an ambient identity', () => {
  it('carries the workflow identity in its certificate', async () => {
    const result = await signBlob([], gha.env);
    expect(result.code, result.stderr).toBe(0);
    const bundle = JSON.parse(await readFile(join(work, 'out.sigstore.json'), 'utf8'));
    expect(bundle.verificationMaterial.certificate.rawBytes).toBeTruthy();
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
  });
});
