import { Command } from 'commander';
import {
  isTollgateError,
  loadNotationTrustStore,
  MAX_TRUST_POLICY_BYTES,
  notationOptionsFor,
  parseManifest,
  parseReference,
  parseTrustPolicy,
  readInputFile,
  RegistryClient,
  TollgateError,
  verifyNotationImage,
  type NotationImageResult,
} from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { registryReference } from '../options/signing-options.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface NotationVerifyFlags extends RegistryFlags {
  trustPolicy: string;
  trustStore: string;
  maxSignatures?: string;
  json: boolean;
}

function notationVerifyCommand(): Command {
  const command = new Command('verify')
    .description('verify the Notary Project signatures of an image the way `notation verify` does, with notation\'s trustpolicy.json and trust store')
    .argument('<image>', 'image reference: host/repo:tag or host/repo@sha256:… (a tag is resolved to its digest first)')
    .requiredOption('--trust-policy <file>', 'notation trust policy (trustpolicy.json, version 1.0)')
    .requiredOption('--trust-store <dir>', 'notation trust store directory (holding x509/{ca,signingAuthority,tsa}/<name>/*.pem|crt|cer)')
    .option('--max-signatures <n>', 'examine at most this many signatures (default 100)');
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
The trust policy whose registryScopes contain the image's repository (registry/namespace/repository, e.g.
docker.io/library/nginx) applies, else the global ("*") one; none → the image is untrusted. Its level decides
what a failed check does (Notary Project specification):
  strict      integrity, authenticity, authentic timestamp, expiry, revocation all enforced
  permissive  integrity and authenticity enforced; timestamp, expiry and revocation failures are warnings
  audit       only integrity enforced; everything else is a warning
  skip        nothing is fetched or verified
Integrity includes the signed targetArtifact: its digest, size and media type must equal the image's manifest.
tollgate does not query OCSP or CRLs: a chain naming revocation endpoints fails the revocation check as "not
performed" (enforced at strict); set "override": {"revocation": "log"} or "skip" to accept that. See
docs/notation.md.

Exit status: 0 verified (or passed at permissive/audit with warnings, printed on stderr), 1 verification failed
(each signature's reason is printed), 2 usage or operational error (bad trust policy or store, registry error).

Examples:
  tollgate notation verify localhost:5000/app:v1 \\
    --trust-policy ~/.config/notation/trustpolicy.json --trust-store ~/.config/notation/truststore
  tollgate notation verify registry.example/team/app@sha256:… --trust-policy policy.json --trust-store ./store --json`);
  return command.action(withStatus(async (image: string, flags: NotationVerifyFlags) => {
    const reference = parseReference(registryReference(image));
    const limits: { maxSignatures?: number } = {};
    if (flags.maxSignatures !== undefined) {
      const n = Number(flags.maxSignatures);
      if (!Number.isSafeInteger(n) || n < 1 || n > 1000) throw new TollgateError('USAGE', '--max-signatures must be an integer from 1 to 1000');
      limits.maxSignatures = n;
    }
    const policy = parseTrustPolicy(await readInputFile(flags.trustPolicy, MAX_TRUST_POLICY_BYTES, 'trust policy'));
    const stores = await loadNotationTrustStore(flags.trustStore, { onWarning: (w) => writeErr(`Warning: ${w}`) });
    let resolved;
    try {
      resolved = notationOptionsFor(policy, stores, reference.name);
    } catch (error) {
      if (!isTollgateError(error, 'DENIED')) throw error;
      if (flags.json) writeJson({ verified: false, reference: image, reasons: [error.message] });
      else writeErr(`Error: signature verification failed for ${image}: ${error.message}`);
      return ExitCode.CheckFailed;
    }
    const { statement, options } = resolved;
    if (options.level === 'skip') {
      if (flags.json) writeJson({ verified: true, reference: image, policy: statement.name, level: 'skip', reasons: [], warnings: ['verification skipped by the trust policy'] });
      else writeErr(`Warning: trust policy "${statement.name}" is set to skip: ${image} was not verified`);
      return ExitCode.Ok;
    }
    const client = new RegistryClient(reference.registry, registryOptionsFrom(flags));
    const raw = await client.getManifest(reference.repository, reference.digest ?? reference.tag ?? 'latest');
    const target = { digest: raw.digest, size: raw.bytes.byteLength, mediaType: parseManifest(raw.bytes, raw.mediaType).mediaType };
    const result = await verifyNotationImage(client, reference.repository, target, options, limits);
    const name = `${reference.name}@${target.digest}`;
    if (flags.json) writeJson(toJson(image, name, statement.name, options.level, result));
    else report(name, result);
    return result.ok ? ExitCode.Ok : ExitCode.CheckFailed;
  }));
}

function report(name: string, result: NotationImageResult): void {
  for (const warning of result.warnings) writeErr(`Warning: ${warning}`);
  if (result.ok) {
    writeOut(`Successfully verified signature for ${name}`);
    const signer = result.verified?.signer;
    if (signer) writeOut(`  signed by ${signer.subject} (${signer.signingScheme}${signer.timestamp ? `, timestamped ${signer.timestamp}` : ''})`);
    return;
  }
  writeErr(`Error: signature verification failed for ${name}`);
  for (const reason of result.reasons) writeErr(`  ${reason}`);
}

function toJson(image: string, name: string, policy: string, level: string, result: NotationImageResult): unknown {
  return {
    verified: result.ok,
    reference: image,
    manifest: name,
    policy,
    level,
    signer: result.verified?.signer,
    checks: result.verified?.checks,
    reasons: result.reasons,
    warnings: result.warnings,
    signatures: result.signatures.map((s) => ({
      digest: s.digest,
      verified: s.result?.ok ?? false,
      ...(s.error !== undefined ? { error: s.error } : {}),
      ...(s.result ? { checks: s.result.checks, reasons: s.result.reasons, warnings: s.result.warnings } : {}),
    })),
  };
}

export function notationCommand(): Command {
  return new Command('notation')
    .description('Notary Project (notation) signatures: verify images with notation\'s trust policy and trust store')
    .addCommand(notationVerifyCommand());
}
