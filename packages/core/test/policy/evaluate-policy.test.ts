import { describe, expect, it } from 'vitest';
import { distinctAuthorityCount, evaluatePolicy, isUnavailableError, loadPolicy, TollgateError, type AuthorityVerifier, type PolicyImage } from '@tollgate/core';
import { digestOfChar, PrecomputedVerifier, signedBy, syntheticImage, yaml } from './support.js';

const KEYLESS = (name: string) => `{name: ${name}, keyless: {issuer: "https://issuer.example", subjectRegexp: "release@example\\\\.com"}}`;
const PROVENANCE = 'https://slsa.dev/provenance/v1';
const app = { registry: 'ghcr.io', repository: 'org/app' };

function statement(digest: string, predicate: unknown, predicateType = PROVENANCE): unknown {
  return { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'ghcr.io/org/app', digest: { sha256: digest.slice(7) } }], predicateType, predicate };
}

describe('evaluating signatures and thresholds', () => {
  const policyText = `rules:
  - name: app
    images: [ghcr.io/org/*]
    threshold: 2
    authorities: [${KEYLESS('a')}, ${KEYLESS('b')}, ${KEYLESS('c')}]
`;

  it('allows when k distinct authorities pass with distinct signers', async () => {
    const policy = await loadPolicy(yaml(policyText));
    const d = digestOfChar('a');
    const verifier = new PrecomputedVerifier({
      [`${d} a`]: { passed: true, signers: ['alice'], reasons: [] },
      [`${d} b`]: { passed: true, signers: ['bob'], reasons: [] },
    });
    const verdict = await evaluatePolicy(syntheticImage(app), policy, { verifier });
    expect(verdict.decision).toBe('allow');
    expect(verdict.rule).toBe('app');
    expect(verdict.revision).toBe(policy.revision);
    expect(verdict.findings.find((f) => f.kind === 'signatures')!.reason).toMatch(/2 of 3 authorities verified with distinct signers .* 2 required/);
  });

  it('denies when the same signer satisfies two authorities (counted once)', async () => {
    const policy = await loadPolicy(yaml(policyText));
    const d = digestOfChar('a');
    const verifier = new PrecomputedVerifier({
      [`${d} a`]: { passed: true, signers: ['alice', 'alice'], reasons: [] },
      [`${d} b`]: { passed: true, signers: ['alice'], reasons: [] },
      [`${d} c`]: { passed: false, signers: [], reasons: ['signature does not verify'] },
    });
    const verdict = await evaluatePolicy(syntheticImage(app), policy, { verifier });
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toMatch(/1 of 3 authorities/);
    expect(verdict.findings.find((f) => f.name === 'app/authorities/c')!.reason).toBe('signature does not verify');
  });

  it('counts distinct signers with a matching, not greedily', () => {
    expect(distinctAuthorityCount([['x', 'y'], ['x']])).toBe(2);
    expect(distinctAuthorityCount([['x'], ['x'], ['x']])).toBe(1);
    expect(distinctAuthorityCount([['x', 'y'], ['y', 'z'], ['x']])).toBe(3);
    expect(distinctAuthorityCount([])).toBe(0);
  });

  it('counts ids linked by aliases (a certificate subject and its key id) as one signer, transitively', () => {
    expect(distinctAuthorityCount([['CN=a'], ['k1']])).toBe(2);
    expect(distinctAuthorityCount([['CN=a'], ['k1']], [['CN=a', 'k1']])).toBe(1);
    // CN=a and CN=b share key k1 (one key certified under two subjects); CN=b and CN=c share k2.
    expect(distinctAuthorityCount([['CN=a'], ['CN=b'], ['CN=c']], [['CN=a', 'k1'], ['CN=b', 'k1'], ['CN=b', 'k2'], ['CN=c', 'k2']])).toBe(1);
    // An authority with a second, unlinked signer can still be matched to it.
    expect(distinctAuthorityCount([['CN=a', 'k9'], ['k1']], [['CN=a', 'k1']])).toBe(2);
    expect(distinctAuthorityCount([['__proto__'], ['constructor']], [['__proto__', 'constructor'], []])).toBe(1);
  });

  it('a signer a verifier reports under two names (aliases) counts once toward the threshold', async () => {
    const policy = await loadPolicy(yaml(policyText));
    const d = digestOfChar('a');
    const verifier = new PrecomputedVerifier({
      [`${d} a`]: { passed: true, signers: ['CN=release'], aliases: [['CN=release', 'ab'.repeat(32)]], reasons: [] },
      [`${d} b`]: { passed: true, signers: ['ab'.repeat(32)], reasons: [] },
    });
    const verdict = await evaluatePolicy(syntheticImage(app), policy, { verifier });
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toMatch(/1 of 3 authorities verified with distinct signers \(2 passed, but some only through a signer already counted\)/);
  });

  it('denies a verifier that claims success without a signer, or throws', async () => {
    const policy = await loadPolicy(yaml(`rules:\n  - name: app\n    images: [ghcr.io/org/*]\n    authorities: [${KEYLESS('a')}]\n`));
    const d = digestOfChar('a');
    const empty = await evaluatePolicy(syntheticImage(app), policy, { verifier: new PrecomputedVerifier({ [`${d} a`]: { passed: true, signers: [], reasons: [] } }) });
    expect(empty.decision).toBe('deny');
    const throwing = await evaluatePolicy(syntheticImage(app), policy, {
      verifier: { verifySignatures: async () => Promise.reject(new Error('registry down')), verifiedAttestations: async () => ({ statements: [], reasons: [] }) },
    });
    expect(throwing.decision).toBe('deny');
    expect(throwing.findings.find((f) => f.kind === 'authority')!.reason).toMatch(/registry down/);
  });

  it('fails closed without a verifier: rules needing authorities or attestations deny with the reason', async () => {
    const policy = await loadPolicy(yaml(`rules:\n  - name: app\n    images: [ghcr.io/org/*]\n    authorities: [${KEYLESS('a')}]\n`));
    const verdict = await evaluatePolicy(syntheticImage(app), policy);
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toMatch(/signature verification is not available/);
  });
});

describe('evidence that cannot be read for now (indeterminate)', () => {
  const policyText = `rules:
  - name: app
    images: [ghcr.io/org/*]
    threshold: 2
    authorities: [${KEYLESS('a')}, ${KEYLESS('b')}, ${KEYLESS('c')}]
`;
  const d = digestOfChar('a');
  const unavailable = new TollgateError('REGISTRY_ERROR', 'listing referrers: unexpected response, HTTP 503', { status: 503 });

  it('tells unavailability (network, 429, 5xx) from what a registry sent', () => {
    expect(isUnavailableError(unavailable)).toBe(true);
    expect(isUnavailableError(new TollgateError('NETWORK_ERROR', 'reset'))).toBe(true);
    expect(isUnavailableError(new TollgateError('TOO_MANY_REQUESTS', 'slow down', { status: 429 }))).toBe(true);
    for (const decided of [new TollgateError('REGISTRY_ERROR', 'HTTP 400', { status: 400 }), new TollgateError('REGISTRY_ERROR', 'bad redirect'), new TollgateError('NOT_FOUND', 'x', { status: 404 }), new TollgateError('DIGEST_MISMATCH', 'x'), new Error('plain')]) {
      expect(isUnavailableError(decided), decided.message).toBe(false);
    }
  });

  it('is undecided (deny + indeterminate) when authorities that could not be read might have met the threshold', async () => {
    const policy = await loadPolicy(yaml(policyText));
    const verifier = new PrecomputedVerifier({
      [`${d} a`]: { passed: true, signers: ['alice'], reasons: [] },
      [`${d} b`]: { passed: false, signers: [], reasons: ['the referrers could not be listed'], indeterminate: true },
    });
    const verdict = await evaluatePolicy(syntheticImage(app), policy, { verifier });
    expect(verdict.decision).toBe('deny');
    expect(verdict.indeterminate).toBe(true);
    expect(verdict.summary).toMatch(/^undecided by rule "app": evidence could not be read for now/);
    expect(verdict.findings.find((f) => f.name === 'app/authorities/b')).toMatchObject({ passed: false, indeterminate: true });
  });

  it('a verifier that throws an unavailable error is undecided; any other error denies', async () => {
    const policy = await loadPolicy(yaml(policyText));
    const throwing = (error: Error): AuthorityVerifier => ({
      verifySignatures: () => Promise.reject(error),
      verifiedAttestations: () => Promise.reject(error),
    });
    expect((await evaluatePolicy(syntheticImage(app), policy, { verifier: throwing(unavailable) })).indeterminate).toBe(true);
    const denied = await evaluatePolicy(syntheticImage(app), policy, { verifier: throwing(new TollgateError('REGISTRY_ERROR', 'HTTP 400', { status: 400 })) });
    expect(denied.decision).toBe('deny');
    expect(denied.indeterminate).toBeUndefined();
  });

  it('is a plain deny when the evidence that was read already fails, or even the unread could not meet the threshold', async () => {
    const policy = await loadPolicy(yaml(policyText));
    // Only one authority could possibly pass: a threshold of 2 is failed whatever the unread one holds.
    const short = new PrecomputedVerifier({
      [`${d} a`]: { passed: false, signers: [], reasons: ['signature does not verify'] },
      [`${d} b`]: { passed: false, signers: [], reasons: ['signature does not verify'] },
      [`${d} c`]: { passed: false, signers: [], reasons: ['unreadable'], indeterminate: true },
    });
    const verdict = await evaluatePolicy(syntheticImage(app), policy, { verifier: short });
    expect(verdict.decision).toBe('deny');
    expect(verdict.indeterminate).toBeUndefined();
    // A check that fails on the evidence decides, whatever else could not be read.
    const withCheck = await loadPolicy(yaml(`${policyText}    checks: {maxLayers: 1}\n`));
    const undecidedSignatures = new PrecomputedVerifier({
      [`${d} a`]: { passed: true, signers: ['alice'], reasons: [] },
      [`${d} b`]: { passed: false, signers: [], reasons: ['unreadable'], indeterminate: true },
    });
    const mixed = await evaluatePolicy(syntheticImage(app, { layers: [{ digest: d, size: 1, diffID: d }, { digest: d, size: 1, diffID: d }] }), withCheck, { verifier: undecidedSignatures });
    expect(mixed.decision).toBe('deny');
    expect(mixed.indeterminate).toBeUndefined();
  });

  it('an indeterminate result never passes an authority, even one that claims passed', async () => {
    const policy = await loadPolicy(yaml(policyText.replace('threshold: 2', 'threshold: 1')));
    const verifier = new PrecomputedVerifier({ [`${d} a`]: { passed: false, signers: ['alice'], reasons: [], indeterminate: true } });
    const verdict = await evaluatePolicy(syntheticImage(app), policy, { verifier });
    expect(verdict.decision).toBe('deny');
    expect(verdict.indeterminate).toBe(true);
  });
});

describe('multi-platform images', () => {
  const index = digestOfChar('1');
  const amd64 = digestOfChar('a');
  const arm64 = digestOfChar('b');
  const image = (pulled: string): PolicyImage =>
    syntheticImage(app, {
      digest: pulled,
      index: { digest: index, manifests: [{ digest: amd64, platform: { os: 'linux', architecture: 'amd64' } }, { digest: arm64, platform: { os: 'linux', architecture: 'arm64' } }] },
    });
  const signed = (...digests: string[]) => new PrecomputedVerifier(Object.fromEntries(digests.map((d) => [`${d} a`, { passed: true, signers: ['alice'], reasons: [] }])));
  const policyFor = (platforms?: string) =>
    loadPolicy(yaml(`rules:\n  - name: app\n    images: [ghcr.io/org/*]\n${platforms ? `    platforms: ${platforms}\n` : ''}    authorities: [${KEYLESS('a')}]\n`));

  it('by default verifies the pulled platform: an unsigned index with one signed child denies the unsigned platform', async () => {
    const policy = await policyFor();
    const verifier = signed(amd64);
    expect((await evaluatePolicy(image(amd64), policy, { verifier })).decision).toBe('allow');
    const denied = await evaluatePolicy(image(arm64), policy, { verifier });
    expect(denied.decision).toBe('deny');
    expect(denied.summary).toContain(`the pulled image ${arm64}`);
    expect(verifier.calls).not.toContain(`sig ${index} a`);
  });

  it('a signed index does not stand in for the pulled platform by default', async () => {
    expect((await evaluatePolicy(image(amd64), await policyFor(), { verifier: signed(index) })).decision).toBe('deny');
  });

  it('platforms: index requires the index signature', async () => {
    const policy = await policyFor('index');
    expect((await evaluatePolicy(image(arm64), policy, { verifier: signed(index) })).decision).toBe('allow');
    expect((await evaluatePolicy(image(arm64), policy, { verifier: signed(amd64, arm64) })).decision).toBe('deny');
  });

  it('platforms: all requires every platform manifest', async () => {
    const policy = await policyFor('all');
    expect((await evaluatePolicy(image(amd64), policy, { verifier: signed(amd64, arm64) })).decision).toBe('allow');
    const denied = await evaluatePolicy(image(amd64), policy, { verifier: signed(amd64, index) });
    expect(denied.decision).toBe('deny');
    expect(denied.summary).toContain(`the platform manifest ${arm64}`);
  });

  it('a single-platform image is its own target in every scope', async () => {
    for (const scope of ['pulled', 'index', 'all']) {
      expect((await evaluatePolicy(syntheticImage(app, { digest: amd64 }), await policyFor(scope), { verifier: signed(amd64) })).decision).toBe('allow');
    }
  });
});

describe('attestations and CEL conditions', () => {
  const d = digestOfChar('a');
  const policyWith = (conditions: string[]) =>
    loadPolicy(
      yaml(`rules:
  - name: app
    images: [ghcr.io/org/*]
    attestations:
      - name: provenance
        predicateType: ${PROVENANCE}
        authorities: [${KEYLESS('builder')}]
        conditions:
${conditions.map((c) => `          - {expression: ${JSON.stringify(c)}}`).join('\n')}
`),
    );
  const slsa = { buildDefinition: { externalParameters: { workflow: { repository: 'https://github.com/org/app' } } }, runDetails: { builder: { id: 'https://github.com/actions/runner' } } };
  const verifierWith = (statements: unknown[]) => new PrecomputedVerifier({}, { [`${d} ${PROVENANCE} builder`]: signedBy('builder@example.com', ...statements) });
  const conditions = [
    'predicate.runDetails.builder.id == "https://github.com/actions/runner"',
    'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/org/app"',
    'statement.subject.exists(s, "sha256:" + s.digest.sha256 == image.digest)',
  ];

  it('allows SLSA provenance from the right builder and repository', async () => {
    const verdict = await evaluatePolicy(syntheticImage(app), await policyWith(conditions), { verifier: verifierWith([statement(d, slsa)]) });
    expect(verdict.decision).toBe('allow');
  });

  it('denies provenance from another repository', async () => {
    const other = structuredClone(slsa);
    other.buildDefinition.externalParameters.workflow.repository = 'https://github.com/evil/app';
    const verdict = await evaluatePolicy(syntheticImage(app), await policyWith(conditions), { verifier: verifierWith([statement(d, other)]) });
    expect(verdict.decision).toBe('deny');
    expect(verdict.findings.some((f) => f.kind === 'condition' && /condition is false/.test(f.reason))).toBe(true);
  });

  it('denies a vulnerability report with critical findings and allows one without', async () => {
    const type = 'https://cosign.sigstore.dev/attestation/vuln/v1';
    const policy = await loadPolicy(
      yaml(`rules:
  - name: app
    images: [ghcr.io/org/*]
    attestations:
      - name: vulns
        predicateType: ${type}
        authorities: [${KEYLESS('scanner')}]
        conditions: [{expression: "!predicate.scanner.result.exists(v, v.severity == 'CRITICAL')", message: no critical vulnerabilities}]
`),
    );
    const report = (severities: string[]) => statement(d, { scanner: { result: severities.map((severity) => ({ severity })) } }, type);
    const verifier = (s: string[]) => new PrecomputedVerifier({}, { [`${d} ${type} scanner`]: signedBy('scanner', report(s)) });
    expect((await evaluatePolicy(syntheticImage(app), policy, { verifier: verifier(['LOW', 'HIGH']) })).decision).toBe('allow');
    const denied = await evaluatePolicy(syntheticImage(app), policy, { verifier: verifier(['LOW', 'CRITICAL']) });
    expect(denied.decision).toBe('deny');
    expect(denied.findings.find((f) => f.kind === 'condition')!.reason).toBe('condition is false: no critical vulnerabilities');
  });

  it('denies when a condition errors or is not boolean, even if another statement passes', async () => {
    const missingField = await evaluatePolicy(syntheticImage(app), await policyWith(['predicate.nosuch.field == 1']), { verifier: verifierWith([statement(d, slsa)]) });
    expect(missingField.decision).toBe('deny');
    expect(missingField.summary).toMatch(/failed to evaluate \(denied\)/);
    const notBool = await evaluatePolicy(syntheticImage(app), await policyWith(['predicate.runDetails.builder.id']), { verifier: verifierWith([statement(d, slsa)]) });
    expect(notBool.decision).toBe('deny');
    expect(notBool.summary).toMatch(/did not return a boolean/);
    // One good statement does not outvote one whose evaluation errors.
    const mixed = await evaluatePolicy(syntheticImage(app), await policyWith(['predicate.runDetails.builder.id == "https://github.com/actions/runner"']), {
      verifier: verifierWith([statement(d, slsa), statement(d, { runDetails: 7 })]),
    });
    expect(mixed.decision).toBe('deny');
  });

  it('ignores statements about another digest or of another predicate type', async () => {
    const wrongSubject = await evaluatePolicy(syntheticImage(app), await policyWith(conditions), { verifier: verifierWith([statement(digestOfChar('f'), slsa)]) });
    expect(wrongSubject.decision).toBe('deny');
    expect(JSON.stringify(wrongSubject.findings)).toContain('not among its subjects');
    const wrongType = await evaluatePolicy(syntheticImage(app), await policyWith(conditions), { verifier: verifierWith([statement(d, slsa, 'https://example.com/other')]) });
    expect(wrongType.decision).toBe('deny');
    const garbage = await evaluatePolicy(syntheticImage(app), await policyWith(conditions), { verifier: verifierWith([null, 'x', [1], { subject: 'x' }]) });
    expect(garbage.decision).toBe('deny');
  });

  describe('thresholds count distinct signers, not authorities', () => {
    const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
    const twoScanners = (threshold = 2, extra = '') =>
      loadPolicy(
        yaml(`rules:
  - name: app
    images: [ghcr.io/org/*]
    attestations:
      - name: vulns
        predicateType: ${VULN}
        threshold: ${threshold}
        authorities: [${KEYLESS('scanner-a')}, ${KEYLESS('scanner-b')}${extra}]
        conditions: [{expression: "!predicate.scanner.result.exists(v, v.severity == 'CRITICAL')"}]
`),
      );
    const clean = statement(d, { scanner: { result: [] } }, VULN);
    const critical = statement(d, { scanner: { result: [{ severity: 'CRITICAL' }] } }, VULN);
    const at = (authority: string) => `${d} ${VULN} ${authority}`;
    const outcome = (verdict: Awaited<ReturnType<typeof evaluatePolicy>>) => verdict.findings.find((f) => f.kind === 'attestation')!.reason;

    it('one signer matched by two authorities (two patterns, one certificate) meets a threshold of 2 only once', async () => {
      const verifier = new PrecomputedVerifier({}, { [at('scanner-a')]: signedBy('https://issuer.example release@example.com', clean), [at('scanner-b')]: signedBy('https://issuer.example release@example.com', clean) });
      const verdict = await evaluatePolicy(syntheticImage(app), await twoScanners(), { verifier });
      expect(verdict.decision).toBe('deny');
      expect(outcome(verdict)).toMatch(/^1 of 2 authorities vouch for .* with distinct signers \(2 vouch, but some only through a signer already counted\); 2 required$/);
    });

    it('two distinct signers meet it', async () => {
      const verifier = new PrecomputedVerifier({}, { [at('scanner-a')]: signedBy('alice', clean), [at('scanner-b')]: signedBy('bob', clean) });
      const verdict = await evaluatePolicy(syntheticImage(app), await twoScanners(), { verifier });
      expect(verdict.decision).toBe('allow');
      expect(outcome(verdict)).toMatch(/^2 of 2 authorities vouch/);
    });

    it('only signers whose statements meet the conditions count: a clean report and a failing one by another signer do not make two', async () => {
      // scanner-a sees alice's clean report; scanner-b sees alice's clean report and bob's report with a critical finding.
      const verifier = new PrecomputedVerifier({}, { [at('scanner-a')]: signedBy('alice', clean), [at('scanner-b')]: [...signedBy('alice', clean), ...signedBy('bob', critical)] });
      expect((await evaluatePolicy(syntheticImage(app), await twoScanners(), { verifier })).decision).toBe('deny');
    });

    it('the matching finds distinct signers where they exist (a greedy count would not)', async () => {
      const verifier = new PrecomputedVerifier({}, { [at('scanner-a')]: [...signedBy('alice', clean), ...signedBy('bob', clean)], [at('scanner-b')]: signedBy('alice', clean) });
      expect((await evaluatePolicy(syntheticImage(app), await twoScanners(), { verifier })).decision).toBe('allow');
    });

    it('aliases reported by the verifier join signers (the same key under two names)', async () => {
      const verifier = new PrecomputedVerifier({}, {
        [at('scanner-a')]: { statements: signedBy('CN=scanner', clean), aliases: [['CN=scanner', 'cd'.repeat(32)]], reasons: [] },
        [at('scanner-b')]: signedBy('cd'.repeat(32), clean),
      });
      expect((await evaluatePolicy(syntheticImage(app), await twoScanners(), { verifier })).decision).toBe('deny');
    });

    it('a statement reported without its signer is not counted (fail closed)', async () => {
      const verifier = new PrecomputedVerifier({}, {
        [at('scanner-a')]: { statements: [{ statement: clean } as never, { statement: clean, signer: '' }], reasons: [] },
        [at('scanner-b')]: signedBy('bob', clean),
      });
      const verdict = await evaluatePolicy(syntheticImage(app), await twoScanners(1), { verifier: new PrecomputedVerifier({}, { [at('scanner-a')]: { statements: [{ statement: clean } as never], reasons: [] } }) });
      expect(verdict.decision).toBe('deny');
      expect(verdict.findings.find((f) => f.name === 'app/attestations/vulns/scanner-a')!.reason).toMatch(/without naming its signer \(not counted\)/);
      expect((await evaluatePolicy(syntheticImage(app), await twoScanners(), { verifier })).decision).toBe('deny');
      // The old shape (bare statements, no signer) counts for nothing either.
      const bare = { verifySignatures: async () => ({ passed: false, signers: [], reasons: [] }), verifiedAttestations: async () => ({ statements: [clean, clean], reasons: [] }) } as never;
      expect((await evaluatePolicy(syntheticImage(app), await twoScanners(1), { verifier: bare })).decision).toBe('deny');
    });
  });

  it('binds image.config for conditions (e.g. a filemanifest that must match the image)', async () => {
    const type = 'https://tollgate.dev/filemanifest/v1';
    const diff = digestOfChar('c');
    const policy = await loadPolicy(
      yaml(`rules:
  - name: app
    images: [ghcr.io/org/*]
    attestations:
      - name: files
        predicateType: ${type}
        authorities: [${KEYLESS('builder')}]
        conditions: [{expression: "predicate.diffIDs == image.config.rootfs.diff_ids"}]
`),
    );
    const image = syntheticImage(app, { config: { rootfs: { type: 'layers', diff_ids: [diff] } } });
    const verifier = (ids: string[]) => new PrecomputedVerifier({}, { [`${d} ${type} builder`]: signedBy('builder', statement(d, { diffIDs: ids }, type)) });
    expect((await evaluatePolicy(image, policy, { verifier: verifier([diff]) })).decision).toBe('allow');
    expect((await evaluatePolicy(image, policy, { verifier: verifier([digestOfChar('e')]) })).decision).toBe('deny');
  });
});

describe('modes and defaults', () => {
  it('denies images no rule matches unless the default says otherwise', async () => {
    const name = { registry: 'quay.io', repository: 'x/y' };
    const rules = 'rules:\n  - name: a\n    images: [ghcr.io/org/*]\n';
    const deny = await evaluatePolicy(syntheticImage(name), await loadPolicy(yaml(rules)));
    expect(deny.decision).toBe('deny');
    expect(deny.rule).toBeUndefined();
    expect(deny.summary).toMatch(/no rule matches quay\.io\/x\/y; the policy default is deny/);
    expect((await evaluatePolicy(syntheticImage(name), await loadPolicy(yaml(`default: allow\n${rules}`)))).decision).toBe('allow');
    expect((await evaluatePolicy(syntheticImage(name), await loadPolicy(yaml(`default: warn\n${rules}`)))).decision).toBe('warn');
    expect((await evaluatePolicy(syntheticImage(name), await loadPolicy(yaml(`mode: warn\n${rules}`)))).decision).toBe('warn');
  });

  it('a failing rule in warn mode warns; a rule-level enforce overrides a global warn', async () => {
    const root = syntheticImage(app, { config: { rootfs: { type: 'layers', diff_ids: [] }, config: {} } });
    const warnRule = await loadPolicy(yaml('rules:\n  - name: a\n    images: [ghcr.io/org/*]\n    mode: warn\n    checks: {nonRootUser: true}\n'));
    const warned = await evaluatePolicy(root, warnRule);
    expect(warned.decision).toBe('warn');
    expect(warned.summary).toMatch(/would be denied \(warn mode\)/);
    const enforced = await evaluatePolicy(root, await loadPolicy(yaml('mode: warn\nrules:\n  - name: a\n    images: [ghcr.io/org/*]\n    mode: enforce\n    checks: {nonRootUser: true}\n')));
    expect(enforced.decision).toBe('deny');
  });

  it('the most specific rule decides, whatever the order', async () => {
    const text = (order: string[]) => `rules:\n${order.join('')}`;
    const strict = '  - name: strict\n    images: [ghcr.io/org/app]\n    checks: {nonRootUser: true}\n';
    const loose = '  - name: loose\n    images: [ghcr.io/**]\n    checks: {maxLayers: 5}\n';
    const root = syntheticImage(app, { config: { rootfs: { type: 'layers', diff_ids: [] }, config: { User: '0:0' } } });
    for (const order of [[strict, loose], [loose, strict]]) {
      const verdict = await evaluatePolicy(root, await loadPolicy(yaml(text(order))));
      expect(verdict.rule).toBe('strict');
      expect(verdict.decision).toBe('deny');
    }
  });
});
