import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import {
  createSignatureVerifier,
  evaluatePolicy,
  lintPolicy,
  loadPolicyFile,
  MAX_POLICY_BYTES,
  openImage,
  parseTransportReference,
  policyImageFrom,
  ruleNeedsSigstoreRoot,
  selectRule,
  signatureLocationOf,
  TollgateError,
  type LayerIndexStore,
  type PolicyLintResult,
  type PolicyVerdict,
} from '@tollgate/core';
import { readFile, stat } from 'node:fs/promises';
import { addDataOption, addJsonOption, addPlatformOption, platformFrom } from '../options/common-options.js';
import { openLayerIndexCache } from '../options/layer-index-cache.js';
import { archivePolicyName, givenPolicyName, limitClaimedName, type PolicyName } from './policy-name.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { addTrustedRootOptions, trustedRootFrom, type TrustedRootFlags } from '../options/trust-options.js';
import { writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface CheckFlags extends RegistryFlags, TrustedRootFlags {
  policy: string;
  json: boolean;
  platform?: string;
  name?: string;
  data?: string;
  cache: boolean;
}

export function policyCommand(): Command {
  const policy = new Command('policy').description('check images against an admission policy, and lint policies (see docs/policy.md)');
  policy.addCommand(lintCommand());
  policy.addCommand(checkCommand());
  return policy;
}

function lintCommand(): Command {
  const command = new Command('lint')
    .description('validate a policy file: YAML, schema and unknown keys, keys and certificates that cannot be read, CEL that does not compile; warn about unreachable rules and unanchored-looking identity patterns')
    .argument('<file>', 'policy file (YAML)')
    .option('--proxy-config <file>', "also warn about rules that match no registry of this proxy config's upstreams (they never apply there)")
    .addHelpText('after', `
Exit status: 0 the policy is valid (warnings may be printed), 1 it has errors, 2 it could not be read.

Examples:
  tollgate policy lint policy.yaml
  tollgate policy lint policy.yaml --proxy-config proxy.yaml
  tollgate policy lint policy.yaml --json | jq '.errors[]'`);
  addJsonOption(command);
  return command.action(withStatus(async (file: string, flags: { json: boolean; proxyConfig?: string }) => {
    const registries = flags.proxyConfig !== undefined ? await upstreamRegistries(flags.proxyConfig) : undefined;
    const full = resolve(file);
    const info = await stat(full).catch((error: NodeJS.ErrnoException) => {
      throw new TollgateError(error.code === 'ENOENT' ? 'NOT_FOUND' : 'USAGE', `cannot read the policy file ${file}: ${error.code ?? error.message}; check the path`);
    });
    if (!info.isFile()) throw new TollgateError('USAGE', `${file} is not a regular file`);
    if (info.size > MAX_POLICY_BYTES) throw new TollgateError('SIZE_LIMIT', `the policy file ${file} is ${info.size} bytes, over the ${MAX_POLICY_BYTES}-byte limit`);
    const result = await lintPolicy(await readFile(full), { baseDir: dirname(full), source: file, ...(registries !== undefined ? { registries } : {}) });
    if (flags.json) writeJson({ file, ...result });
    else writeOut(renderLint(file, result));
    return result.valid ? ExitCode.Ok : ExitCode.CheckFailed;
  }));
}

/** The registries a proxy config's upstreams name their images under for policy rules. */
async function upstreamRegistries(configFile: string): Promise<string[]> {
  const proxy = await import('@tollgate/proxy');
  const config = await proxy.loadProxyConfig(configFile, { env: process.env });
  return [...new Set(config.upstreams.map((u) => proxy.registryOf(u)))];
}

function renderLint(file: string, result: PolicyLintResult): string {
  const lines: string[] = [];
  for (const e of result.errors) lines.push(`error   ${e.path}: ${e.message}`);
  for (const w of result.warnings) lines.push(`warning ${w.path}: ${w.message}`);
  const counts = `${result.errors.length} error${result.errors.length === 1 ? '' : 's'}, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}`;
  lines.push(result.valid ? `OK: ${file} is a valid policy (revision ${result.revision}); ${counts}` : `INVALID: ${file}: ${counts}`);
  return lines.join('\n');
}

function checkCommand(): Command {
  const command = new Command('check')
    .description('evaluate an image against a policy and print the verdict with every rule, authority and check that decided it')
    .argument('<image>', 'image reference: [docker://]host/repo[:tag][@digest], oci:<dir>[:<tag>], docker-archive:<file>[:<name:tag>]')
    .requiredOption('--policy <file>', 'policy file (YAML)')
    .option('--name <repository>', 'the image name rules match, for oci: and docker-archive: sources (e.g. registry.example.com/team/app); a docker-archive without it is named by its RepoTags, a claim that never makes the verdict more lenient than the policy default')
    .option('--no-cache', 'do not read or write the layer index cache')
    .addHelpText('after', `
Signatures and attestations are read from beside the image: the registry's referrers API or sha256-<hex> tag
(and cosign's legacy .sig/.att tags), or the sha256-<hex> tags of an OCI layout. docker-archive: images carry
none, so rules with authorities deny them. Cosign keys, keyless identities and notation trust stores are verified.

Exit status: 0 allowed (or warn), 1 denied, 2 the policy or the image could not be read, or the registry could not
show the signatures for now (UNDECIDED: retry) — nothing is allowed.

Examples:
  tollgate policy check localhost:5000/team/app:1 --policy policy.yaml
  tollgate policy check ghcr.io/org/app:1 --policy policy.yaml --trusted-root trusted_root.json
  tollgate policy check oci:./layout:v1 --name registry.example.com/team/app --policy policy.yaml --json`);
  addTrustedRootOptions(command);
  addPlatformOption(command);
  addJsonOption(command);
  addDataOption(command);
  addRegistryOptions(command);
  return command.action(withStatus(async (reference: string, flags: CheckFlags) => {
    const policy = await loadPolicyFile(flags.policy);
    const transport = parseTransportReference(reference);
    const given = givenPolicyName(reference, transport, flags.name);
    const opened = await openImage(transport, { platform: platformFrom(flags.platform), registry: registryOptionsFrom(flags) });
    let name: PolicyName;
    let store: LayerIndexStore | undefined;
    let verdict: PolicyVerdict;
    try {
      name = given === 'archive' ? await archivePolicyName(reference, opened.source) : given;
      // The Sigstore root only when the rule that governs this image needs it (keyless, or keys that require Rekor
      // or a timestamp): the --trusted-root file, else the public-good root through TUF.
      const governing = selectRule(policy.rules, name.registry, name.repository);
      const needsRoot = flags.trustedRoot !== undefined || (governing !== undefined && ruleNeedsSigstoreRoot(governing.rule));
      const trustedRoot = needsRoot ? await trustedRootFrom(flags) : undefined;
      store = await openLayerIndexCache(flags);
      const image = await policyImageFrom(opened, name, { reference, ...(store ? { store } : {}) });
      const location = signatureLocationOf(opened.source);
      const verifier = createSignatureVerifier({ signatures: () => location, ...(trustedRoot ? { trustedRoot } : {}) });
      verdict = limitClaimedName(await evaluatePolicy(image, policy, { verifier }), policy, name);
    } finally {
      await store?.close();
      await opened.source.close?.();
    }
    if (flags.json) writeJson({ ...verdict, nameSource: name.source, policy: flags.policy });
    else writeOut(renderVerdict(verdict, name));
    // Undecided (the registry could not be read for now) is an operational failure to retry, not a deny on the evidence.
    if (verdict.decision === 'deny' && verdict.indeterminate === true) return ExitCode.Error;
    return verdict.decision === 'deny' ? ExitCode.CheckFailed : ExitCode.Ok;
  }));
}

function renderVerdict(verdict: PolicyVerdict, name: PolicyName): string {
  const lines = [
    `Image:    ${verdict.image.reference}`,
    `Name:     ${verdict.image.name}${name.source === 'archive' ? ' (claimed by the archive\'s RepoTags, not verified)' : ''}`,
    `Digest:   ${verdict.image.digest}${verdict.image.indexDigest ? ` (index ${verdict.image.indexDigest})` : ''}`,
    `Policy:   revision ${verdict.revision}`,
    `Rule:     ${verdict.rule ? `${verdict.rule} (pattern ${verdict.pattern}, mode ${verdict.mode}, platforms ${verdict.platforms})` : '(none: default)'}`,
  ];
  for (const f of verdict.findings) lines.push(`  ${f.passed ? 'pass' : 'FAIL'}  ${f.kind.padEnd(11)} ${f.name}: ${f.reason}`);
  lines.push(`${verdict.indeterminate === true ? 'UNDECIDED' : verdict.decision.toUpperCase()}: ${verdict.summary}`);
  return lines.join('\n');
}

