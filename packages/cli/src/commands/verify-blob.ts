import { Command } from 'commander';
import { MAX_BUNDLE_BYTES, readInputFile, verifyBlobBundle, type VerificationResult } from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { addTrustOptions, trustFrom, type TrustFlags } from '../options/trust-options.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface VerifyBlobFlags extends TrustFlags {
  bundle: string;
  json: boolean;
}

/** Artifacts are verified in memory (the signature check needs the bytes); 1 GiB bounds that. */
const MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024;

export function verifyBlobCommand(): Command {
  const command = new Command('verify-blob')
    .description('verify a Sigstore bundle over a file, offline, like cosign verify-blob --bundle (keyed or keyless)')
    .argument('<file>', 'the signed file (for a DSSE attestation: the file that must be its in-toto subject)')
    .requiredOption('--bundle <file>', 'the Sigstore bundle (*.sigstore.json, v0.1 to v0.3)')
    .addHelpText('after', `
Checks, in order: the bundle parses (strict JSON, known media type, one DSSE signature); it is signed the way
you asked (--key, or a certificate for --certificate-*); it is about <file> (message digest, or in-toto subject);
timestamps, certificate chain and SCTs (or key validity), log inclusion and entry body, the signature; the
certificate identity and issuer; at least one distinct log entry. See docs/verify-blob.md.

Exit status: 0 "Verified OK", 1 verification failed (the reason is printed), 2 usage error or unreadable input
(missing file, oversize file, invalid trusted root or key).

Examples:
  tollgate verify-blob a.txt --bundle a.txt.sigstore.json \\
    --certificate-identity https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com
  tollgate verify-blob a.txt --bundle a.sigstore.json --certificate-identity-regexp '.*@example\\.com' \\
    --certificate-oidc-issuer https://accounts.google.com --trusted-root trusted_root.json --json
  tollgate verify-blob a.txt --bundle a.sigstore.json --key cosign.pub`);
  addTrustOptions(command);
  addJsonOption(command);
  return command.action(withStatus(async (file: string, flags: VerifyBlobFlags) => {
    const trust = await trustFrom(flags);
    const bundle = await readInputFile(flags.bundle, MAX_BUNDLE_BYTES, 'bundle');
    const artifact = await readInputFile(file, MAX_ARTIFACT_BYTES, 'artifact');
    const result = await verifyBlobBundle(bundle, artifact, { ...trust, insecureIgnoreTlog: flags.insecureIgnoreTlog });
    if (flags.json) writeJson(toJson(file, flags.bundle, result));
    else if (result.ok) writeOut('Verified OK');
    else writeErr(`Error: verification failed: ${result.reasons.join('; ')}`);
    return result.ok ? ExitCode.Ok : ExitCode.CheckFailed;
  }));
}

function toJson(file: string, bundle: string, result: VerificationResult): unknown {
  return {
    verified: result.ok,
    artifact: file,
    bundle,
    reasons: result.reasons,
    bundleVersion: result.bundleVersion,
    content: result.content,
    signer: result.signer,
    tlogEntries: result.tlogEntries,
    statement: result.statement ? { predicateType: result.statement.predicateType, subject: result.statement.subject } : undefined,
  };
}
