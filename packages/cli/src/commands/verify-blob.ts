import { Command } from 'commander';
import {
  loadTrustedRoot,
  MAX_BUNDLE_BYTES,
  MAX_TRUSTED_ROOT_BYTES,
  publicGoodTrustedRoot,
  readInputFile,
  TollgateError,
  verifyBlobBundle,
  type IdentityPolicy,
  type VerificationResult,
} from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface VerifyBlobFlags {
  bundle: string;
  key?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  trustedRoot?: string;
  insecureIgnoreTlog: boolean;
  json: boolean;
}

/** Artifacts are verified in memory (the signature check needs the bytes); 1 GiB bounds that. */
const MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024;
const MAX_KEY_BYTES = 64 * 1024;

export function verifyBlobCommand(): Command {
  const command = new Command('verify-blob')
    .description('verify a Sigstore bundle over a file, offline, like cosign verify-blob --bundle (keyed or keyless)')
    .argument('<file>', 'the signed file (for a DSSE attestation: the file that must be its in-toto subject)')
    .requiredOption('--bundle <file>', 'the Sigstore bundle (*.sigstore.json, v0.1 to v0.3)')
    .option('--key <file>', 'public key (PEM, cosign.pub) of a keyed signature')
    .option('--certificate-identity <id>', 'keyless: the signing certificate\'s identity (email or URI SAN), exactly')
    .option('--certificate-identity-regexp <re>', 'keyless: the identity as a regular expression, always matched against the whole SAN')
    .option('--certificate-oidc-issuer <url>', 'keyless: the OIDC issuer recorded in the certificate, exactly')
    .option('--certificate-oidc-issuer-regexp <re>', 'keyless: the OIDC issuer as a regular expression, matched whole')
    .option('--trusted-root <file>', 'Sigstore trusted_root.json (default: the public-good root embedded in tollgate)')
    .option('--insecure-ignore-tlog', 'do not use or require the transparency log entries (keyed signatures without Rekor)', false)
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
  addJsonOption(command);
  return command.action(withStatus(async (file: string, flags: VerifyBlobFlags) => {
    const identity = identityFrom(flags);
    if (flags.key !== undefined && identity) throw new TollgateError('USAGE', 'give --key or the --certificate-* flags, not both');
    if (flags.key === undefined && !identity) {
      throw new TollgateError('USAGE', 'give --key <cosign.pub> for a keyed signature, or --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] for a keyless one');
    }
    const trustedRoot = flags.trustedRoot !== undefined
      ? loadTrustedRoot(await readInputFile(flags.trustedRoot, MAX_TRUSTED_ROOT_BYTES, 'trusted root'), `trusted root ${flags.trustedRoot}`)
      : publicGoodTrustedRoot();
    const key = flags.key !== undefined ? await readInputFile(flags.key, MAX_KEY_BYTES, 'public key') : undefined;
    const bundle = await readInputFile(flags.bundle, MAX_BUNDLE_BYTES, 'bundle');
    const artifact = await readInputFile(file, MAX_ARTIFACT_BYTES, 'artifact');
    const result = await verifyBlobBundle(bundle, artifact, {
      trustedRoot,
      ...(key ? { key: new Uint8Array(key) } : { identity: identity! }),
      insecureIgnoreTlog: flags.insecureIgnoreTlog,
    });
    if (flags.json) writeJson(toJson(file, flags.bundle, result));
    else if (result.ok) writeOut('Verified OK');
    else writeErr(`Error: verification failed: ${result.reasons.join('; ')}`);
    return result.ok ? ExitCode.Ok : ExitCode.CheckFailed;
  }));
}

function identityFrom(flags: VerifyBlobFlags): IdentityPolicy | undefined {
  const given = [flags.certificateIdentity, flags.certificateIdentityRegexp, flags.certificateOidcIssuer, flags.certificateOidcIssuerRegexp];
  if (given.every((value) => value === undefined)) return undefined;
  if (flags.certificateIdentity === undefined && flags.certificateIdentityRegexp === undefined) {
    throw new TollgateError('USAGE', 'keyless verification needs --certificate-identity or --certificate-identity-regexp');
  }
  if (flags.certificateOidcIssuer === undefined && flags.certificateOidcIssuerRegexp === undefined) {
    throw new TollgateError('USAGE', 'keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp');
  }
  return {
    subject: flags.certificateIdentity,
    subjectRegexp: flags.certificateIdentityRegexp,
    issuer: flags.certificateOidcIssuer,
    issuerRegexp: flags.certificateOidcIssuerRegexp,
  };
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
