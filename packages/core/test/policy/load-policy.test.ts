import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compilePolicy, generateKeyPair, isTollgateError, lintPolicy, loadPolicy, loadPolicyFile, POLICY_JSON_SCHEMA, publicKeyPem } from '@tollgate/core';
import { HEADER, yaml } from './support.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-policy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function errorsOf(bytes: Uint8Array, baseDir?: string): Promise<string[]> {
  const result = await compilePolicy(bytes, baseDir ? { baseDir } : {});
  return result.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('loading a policy', () => {
  it('loads a minimal policy with deny as the default and enforce as the mode', async () => {
    const policy = await loadPolicy(yaml('rules:\n  - name: a\n    images: [nginx]\n'));
    expect(policy.default).toBe('deny');
    expect(policy.mode).toBe('enforce');
    expect(policy.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('fails closed on unknown keys anywhere, naming the JSON path', async () => {
    expect(await errorsOf(yaml('rules: []\nrulez: []\n'))).toEqual(['$.rulez: unknown key "rulez" (did you mean "rules"?)']);
    expect(await errorsOf(yaml('rules:\n  - name: a\n    images: [x]\n    checks: {nonRoot: true}\n'))).toEqual(['$.rules[0].checks.nonRoot: unknown key "nonRoot"']);
    const deep = await errorsOf(yaml('rules:\n  - name: a\n    images: [x]\n    authorities: [{name: k, keyless: {issuer: i, subject: s, subjet: t}}]\n'));
    expect(deep[0]).toMatch(/^\$\.rules\[0\]\.authorities\[0\]\.keyless\.subjet: unknown key/);
    await expect(loadPolicy(yaml('rules: []\nextra: 1\n'))).rejects.toMatchObject({ code: 'INVALID_POLICY', message: expect.stringContaining('$.extra: unknown key') });
  });

  it('rejects YAML that does not parse, duplicate keys, aliases, custom tags, several documents and bad encodings', async () => {
    const cases: Array<[string | Uint8Array, RegExp]> = [
      [HEADER + 'rules: [\n', /line \d+:\d+/],
      [HEADER + 'rules: []\nrules: []\n', /unique/i],
      [HEADER + 'x: &a [1]\nrules: *a\n', /alias|anchor/i],
      [HEADER + 'rules: !!binary aGVsbG8=\n', /tag|must be a list/],
      [HEADER + 'rules: []\n---\nrules: []\n', /document/i],
      [new Uint8Array([0xff, 0xfe, 0x00]), /UTF-8/],
      ['', /empty/],
      [HEADER + 'rules:\n  - name: a\n    images: [x]\n  - {', /line/],
      [HEADER + '? [a]\n: b\nrules: []\n', /key/i],
      ['[1, 2]', /must be a mapping/],
      ['null', /empty|must be a mapping/],
    ];
    for (const [input, expected] of cases) {
      const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
      const errors = await errorsOf(bytes);
      expect(errors.length, JSON.stringify(input)).toBeGreaterThan(0);
      expect(errors.join('\n'), JSON.stringify(input)).toMatch(expected);
      await expect(loadPolicy(bytes)).rejects.toSatisfy((e: unknown) => isTollgateError(e, 'INVALID_POLICY'));
    }
  });

  it('refuses an oversize policy and a deeply nested one', async () => {
    expect((await errorsOf(new Uint8Array(1024 * 1024 + 1).fill(0x20))).join()).toMatch(/limit/);
    expect((await errorsOf(yaml(`rules: ${'['.repeat(40)}${']'.repeat(40)}\n`))).join()).toMatch(/nested|deep/);
  });

  it('reports schema errors: wrong apiVersion, wrong types, empty lists, bad enums, bad names', async () => {
    const errors = await errorsOf(
      new TextEncoder().encode(
        'apiVersion: v1\nkind: ImagePolicy\ndefault: maybe\nrules:\n  - name: "bad name"\n    images: []\n    mode: audit\n    threshold: 0\n    checks: {maxLayers: "3", maxSize: "lots"}\n',
      ),
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\$\.apiVersion: must be "tollgate.dev\/v1alpha1"/),
        expect.stringMatching(/^\$\.default: must be one of "deny", "allow", "warn"/),
        expect.stringMatching(/^\$\.rules\[0\]\.name: "bad name" does not match/),
        expect.stringMatching(/^\$\.rules\[0\]\.images: must not be empty/),
        expect.stringMatching(/^\$\.rules\[0\]\.mode: must be one of/),
        expect.stringMatching(/^\$\.rules\[0\]\.threshold: must be at least 1/),
        expect.stringMatching(/^\$\.rules\[0\]\.checks\.maxLayers: must be a whole number/),
        expect.stringMatching(/^\$\.rules\[0\]\.checks\.maxSize: "lots" does not match/),
      ]),
    );
  });

  it('checks meaning: duplicate names, bad patterns, unmeetable thresholds, one authority kind, identity regexps, CEL', async () => {
    const errors = await errorsOf(
      yaml(`rules:
  - name: a
    images: ["nginx:1.25", "ghcr.io/ok/*"]
    threshold: 2
    authorities:
      - {name: k, keyless: {issuer: "https://i", subjectRegexp: "a)|(b"}}
  - name: a
    images: [x]
    authorities:
      - {name: k, keyless: {issuer: i, subject: s}}
  - name: c
    images: [y]
    threshold: 1
    attestations:
      - name: p
        predicateType: https://slsa.dev/provenance/v1
        authorities: [{name: k, keyless: {issuer: i, subject: s}}]
        conditions:
          - {expression: "predicate.x =="}
          - {expression: "nope.x == 1"}
          - {expression: "evil(predicate)"}
`),
    );
    const text = errors.join('\n');
    expect(text).toMatch(/\$\.rules\[0\]\.images\[0\]: "nginx:1\.25": patterns name repositories, not tags/);
    expect(text).toMatch(/\$\.rules\[0\]\.threshold: threshold 2 can never be met/);
    expect(text).toMatch(/\$\.rules\[0\]\.authorities\[0\]\.keyless: .*regular expression/);
    expect(text).toMatch(/\$\.rules\[1\]\.name: the rule name "a" is already used/);
    expect(text).toMatch(/\$\.rules\[2\]\.threshold: a threshold needs authorities/);
    expect(text).toMatch(/conditions\[0\]\.expression: the CEL expression does not parse/);
    expect(text).toMatch(/conditions\[1\]\.expression: the CEL expression uses the unknown variable "nope"/);
    expect(text).toMatch(/conditions\[2\]\.expression: the CEL expression calls the unknown function "evil"/);
  });

  it('needs exactly one kind per authority', async () => {
    const errors = await errorsOf(yaml('rules:\n  - name: a\n    images: [x]\n    authorities:\n      - {name: both, keyless: {issuer: i, subject: s}, key: {pem: "x"}}\n      - {name: none}\n'));
    expect(errors).toEqual([
      '$.rules[0].authorities[0]: needs exactly one of: key, keyless, notation',
      '$.rules[0].authorities[1]: needs exactly one of: key, keyless, notation',
    ]);
  });

  it('reads cosign keys from a file, inline PEM and JWK, and reports keys that cannot be read', async () => {
    const key = generateKeyPair('ecdsa-p256');
    const pem = publicKeyPem(key);
    await writeFile(join(dir, 'cosign.pub'), pem);
    await writeFile(join(dir, 'garbage.pub'), '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    const jwk = key.publicKey.export({ format: 'jwk' });
    // One key three ways: one signer, so a threshold above 1 could never be met (see the next check).
    const good = yaml(`rules:
  - name: a
    images: [x]
    threshold: 1
    authorities:
      - {name: file, key: {file: cosign.pub}}
      - {name: inline, key: {pem: ${JSON.stringify(pem)}}}
      - {name: jwk, key: {jwk: ${JSON.stringify(jwk)}}}
`);
    const policy = await loadPolicy(good, { baseDir: dir });
    const keyIds = policy.rules[0]!.authorities.map((a) => a.key?.keyId);
    expect(new Set(keyIds).size).toBe(1);
    expect(keyIds[0]).toMatch(/^[0-9a-f]{64}$/);
    const allOfThem = await loadPolicy(new TextEncoder().encode(new TextDecoder().decode(good).replace('    threshold: 1\n', '')), { baseDir: dir }).catch((error: unknown) => error);
    expect(allOfThem).toMatchObject({ code: 'INVALID_POLICY' });
    expect(String((allOfThem as Error).message)).toMatch(/\$\.rules\[0\]\.threshold.*threshold 3 can never be met: authorities "file" and "inline" and "jwk" name the same key/);

    const bad = yaml(`rules:
  - name: a
    images: [x]
    authorities:
      - {name: missing, key: {file: nope.pub}}
      - {name: garbage, key: {file: garbage.pub}}
      - {name: private, key: {pem: "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"}}
      - {name: jwk, key: {jwk: {kty: EC}}}
`);
    const errors = await errorsOf(bad, dir);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/authorities\[0\]\.key\.file: cannot read the public key: .*ENOENT/);
    expect(errors[1]).toMatch(/authorities\[1\]\.key: the public key cannot be read/);
    expect(errors[2]).toMatch(/authorities\[2\]\.key: the public key cannot be read/);
    expect(errors[3]).toMatch(/authorities\[3\]\.key: the public key cannot be read/);
    // A relative key path in a policy given as bytes is an error, not a read from the working directory.
    expect((await errorsOf(good)).join()).toMatch(/relative, but the policy was not read from a file/);
  });

  it('reads notation trust stores and refuses non-certificates', async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '1', '-subj', '/CN=Test CA/O=Example'], { stdio: 'ignore' });
    const policy = await loadPolicy(
      yaml('rules:\n  - name: a\n    images: [x]\n    authorities:\n      - name: n\n        notation: {trustStore: [{file: ca.pem}], trustedIdentities: ["x509.subject: CN=release, O=Example"]}\n'),
      { baseDir: dir },
    );
    const authority = policy.rules[0]!.authorities[0]!;
    expect(authority.kind).toBe('notation');
    expect(authority.certificates![0]!.subject).toMatch(/CN=Test CA/);
    expect(authority.trustedIdentities).toEqual(['CN=release, O=Example']);
    const errors = await errorsOf(
      yaml('rules:\n  - name: a\n    images: [x]\n    authorities:\n      - name: n\n        transparencyLog: required\n        notation: {trustStore: [{file: ca.key}], trustedIdentities: ["CN=x"]}\n'),
      dir,
    );
    expect(errors.join('\n')).toMatch(/trustedIdentities\[0\]: "CN=x" does not match/);
    const errors2 = await errorsOf(
      yaml('rules:\n  - name: a\n    images: [x]\n    authorities:\n      - name: n\n        transparencyLog: required\n        notation: {trustStore: [{file: ca.key}], trustedIdentities: ["x509.subject: CN=x"]}\n'),
      dir,
    );
    expect(errors2.join('\n')).toMatch(/transparencyLog: notation signatures have no transparency log/);
    expect(errors2.join('\n')).toMatch(/trustStore\[0\]: the certificate cannot be read/);
  });

  it('has a revision that is the sha256 of the bytes, and changes with the policy or a key file it reads', async () => {
    const { createHash } = await import('node:crypto');
    const bytes = yaml('rules:\n  - name: a\n    images: [x]\n');
    expect((await loadPolicy(bytes)).revision).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    expect((await loadPolicy(yaml('rules:\n  - name: a\n    images: [y]\n'))).revision).not.toBe((await loadPolicy(bytes)).revision);
    const policyPath = join(dir, 'keyed.yaml');
    await writeFile(policyPath, yaml('rules:\n  - name: a\n    images: [x]\n    authorities: [{name: k, key: {file: rotating.pub}}]\n'));
    await writeFile(join(dir, 'rotating.pub'), publicKeyPem(generateKeyPair()));
    const first = (await loadPolicyFile(policyPath)).revision;
    await writeFile(join(dir, 'rotating.pub'), publicKeyPem(generateKeyPair()));
    expect((await loadPolicyFile(policyPath)).revision).not.toBe(first);
  });

  it('publishes exactly the schema it enforces (docs/policy.schema.json)', async () => {
    const published = JSON.parse(await readFile(new URL('../../../../docs/policy.schema.json', import.meta.url), 'utf8'));
    expect(published).toEqual(JSON.parse(JSON.stringify(POLICY_JSON_SCHEMA)));
  });

  it('property: arbitrary bytes and arbitrary YAML-ish text never load silently and never throw anything but INVALID_POLICY', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(HEADER + s))), async (bytes) => {
        try {
          const policy = await loadPolicy(bytes);
          // Anything that loads must be a real policy: rules is a list.
          expect(Array.isArray(policy.rules)).toBe(true);
        } catch (error) {
          expect(isTollgateError(error, 'INVALID_POLICY')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('linting a policy', () => {
  it('warns about unreachable rules, a default that never applies, rules that require nothing, unanchored-looking identities', async () => {
    const result = await lintPolicy(
      yaml(`default: deny
rules:
  - name: all
    images: ["**"]
    checks: {nonRootUser: true}
  - name: nginx
    images: [nginx]
    checks: {nonRootUser: true}
  - name: nginx-again
    images: [docker.io/library/nginx, library/nginx]
    checks: {healthcheck: true}
  - name: open
    images: [ghcr.io/open/*]
  - name: ci
    images: [ghcr.io/org/*]
    authorities:
      - {name: gh, keyless: {issuer: "https://token.actions.githubusercontent.com", subjectRegexp: ".*github.com/org/.*"}}
      - {name: exact, keyless: {issuer: "https://i", subject: "https://github.com/org/.*"}}
`),
    );
    expect(result.valid).toBe(true);
    const text = result.warnings.map((w) => `${w.path}: ${w.message}`).join('\n');
    expect(text).toMatch(/\$\.rules\[2\]: rule "nginx-again" is unreachable: .*\(nginx\)/);
    expect(text).toMatch(/\$\.default: the default \(deny\) never applies: rule "all"/);
    expect(text).toMatch(/\$\.rules\[3\]: rule "open" requires nothing/);
    expect(text).toMatch(/authorities\[0\]\.keyless\.subjectRegexp: .*starts with "\.\*"/);
    expect(text).toMatch(/authorities\[0\]\.keyless\.subjectRegexp: .*ends with "\.\*"/);
    expect(text).toMatch(/authorities\[0\]\.keyless\.subjectRegexp: .*unescaped "\."/);
    expect(text).toMatch(/authorities\[1\]\.keyless\.subject: .*looks like a regular expression/);
    expect(text).not.toMatch(/rule "nginx" is unreachable/);
  });

  it('returns errors (and no revision) for an invalid policy', async () => {
    const result = await lintPolicy(yaml('rules:\n  - name: a\n    images: [x]\n    bogus: 1\n'));
    expect(result.valid).toBe(false);
    expect(result.revision).toBeUndefined();
    expect(result.errors).toEqual([{ path: '$.rules[0].bogus', message: 'unknown key "bogus"' }]);
  });
});
