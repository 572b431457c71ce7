import { Command } from 'commander';
import { RegistryClient, parseReference, signImage } from '@tollgate/core';
import { addAnnotationOption, annotationsFrom } from '../options/annotation-options.js';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { addSigningOptions, registryReference, signingFrom, type SigningFlags } from '../options/signing-options.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface SignFlags extends SigningFlags, RegistryFlags {
  annotations?: string[];
  json: boolean;
}

export function signCommand(): Command {
  const command = new Command('sign')
    .description('sign an image in a registry, cosign v3 compatible: a Sigstore bundle attached as an OCI 1.1 referrer of the manifest digest')
    .argument('<image>', 'image reference: host/repo:tag or host/repo@sha256:… (a tag is resolved to its digest, which is what gets signed)');
  addSigningOptions(command);
  addAnnotationOption(command, 'annotation to sign into the payload (repeatable): key=value');
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
The signature is an in-toto statement (predicate type https://sigstore.dev/cosign/sign/v1) naming the manifest
digest, signed as DSSE into a v0.3 Sigstore bundle and pushed as a referrer manifest (artifactType
application/vnd.dev.sigstore.bundle.v0.3+json, subject = the image). Without a referrers API (docker-registry 2.8)
the sha256-<hex> referrers tag index is updated too. --legacy writes cosign's sha256-<hex>.sig tag instead.
See docs/signing.md.

Exit status: 0 signed and attached, 2 usage error, unreadable key, registry or Sigstore service failure.

Examples:
  COSIGN_PASSWORD=… tollgate sign localhost:5000/app:v1 --key cosign.key --tlog-upload=false
  tollgate sign registry.example.com/app@sha256:… --identity-token @token.jwt -a git-sha=abc123
  tollgate sign localhost:5000/app:v1 --key cosign.key --tlog-upload=false --legacy`);
  return command.action(withStatus(async (image: string, flags: SignFlags) => {
    const signing = await signingFrom(flags);
    const reference = parseReference(registryReference(image));
    const client = new RegistryClient(reference.registry, registryOptionsFrom(flags));
    const annotations = annotationsFrom(flags.annotations);
    const result = await signImage(reference, signing, {
      client,
      referrersMode: flags.registryReferrers,
      legacy: flags.legacy,
      ...(annotations ? { annotations } : {}),
    });
    if (flags.json) {
      writeJson({ image, signed: result.reference, digest: result.digest, referrer: result.referrer, legacyTag: result.legacyTag });
    } else {
      writeErr(`Pushing signature to: ${reference.name}`);
      writeOut(result.reference);
    }
    return ExitCode.Ok;
  }));
}
