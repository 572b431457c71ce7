import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, generateKeyPair, OciLayoutWriter, publicVerificationKey, signLayoutImage } from '@tollgate/core';
import { runCli } from '../support/cli.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
// A CEL condition that cannot be evaluated denies, and its reason says it failed to evaluate and why — never the
// condition's message, which describes what success looks like (issue 10, item 13).
const SLSA = 'https://slsa.dev/provenance/v1';
const MESSAGE = 'built by the right workflow';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-cel-error-'));
  const key = generateKeyPair('ecdsa-p256');
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  await buildImage(writer, { tag: 'v1', layers: [{ files: [{ path: 'a', content: 'a' }] }] });
  await signLayoutImage(writer, 'v1', { key }, { attestation: { predicateType: SLSA, predicate: { buildDefinition: { buildType: 'x' } } } });
  await writeFile(join(dir, 'cosign.pub'), publicVerificationKey(key).pem);
  const policy = (expression: string) => `apiVersion: tollgate.dev/v1alpha1
kind: ImagePolicy
rules:
  - name: cel
    images: ["registry.example.com/**"]
    attestations:
      - name: slsa
        predicateType: ${SLSA}
        authorities: [{name: builder, key: {file: cosign.pub}, transparencyLog: ignore}]
        conditions: [{expression: '${expression}', message: ${MESSAGE}}]
`;
  await writeFile(join(dir, 'missing.yaml'), policy('predicate.missing.workflow == "org/app"'));
  await writeFile(join(dir, 'holds.yaml'), policy('predicate.buildDefinition.buildType == "x"'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const check = (policy: string, ...extra: string[]) =>
  runCli(['policy', 'check', `oci:${join(dir, 'layout')}:v1`, '--name', 'registry.example.com/team/app', '--policy', join(dir, policy), '--no-cache', ...extra]);

describe('policy check with a CEL condition that fails to evaluate', () => {
  it('denies (1), and the reason names the evaluation error and the expression, not the success message', async () => {
    const result = await check('missing.yaml', '--json');
    expect(result.code, result.stderr).toBe(1);
    const verdict = JSON.parse(result.stdout) as { decision: string; summary: string; findings: Array<{ kind: string; passed: boolean; reason: string }> };
    expect(verdict.decision).toBe('deny');
    const condition = verdict.findings.find((f) => f.kind === 'condition')!;
    expect(condition.passed).toBe(false);
    expect(condition.reason).toBe('condition failed to evaluate (denied): field not found: missing, in predicate.missing.workflow == "org/app"');
    expect(verdict.summary).toMatch(/condition failed to evaluate \(denied\): field not found: missing/);
    expect(verdict.summary).not.toContain(MESSAGE);

    const text = await check('missing.yaml');
    expect(text.code).toBe(1);
    expect(text.stdout).not.toContain(MESSAGE);
    expect(text.stdout).toMatch(/^ {2}FAIL {2}condition {3}cel\/attestations\/slsa\/builder: condition failed to evaluate \(denied\): field not found: missing/m);
  });

  it('a condition that holds is reported with its message (the attestation passes)', async () => {
    const result = await check('holds.yaml');
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain(`condition holds: ${MESSAGE}`);
  });
});
