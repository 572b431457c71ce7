import { Command } from 'commander';
import { RegistryClient, parseReference, signImage, signLayoutReference } from '@tollgate/core';
import { addAnnotationOption, annotationsFrom } from '../options/annotation-options.js';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { layoutReference, refuseRecursiveOnLayout, refuseRegistryStorageOnLayout } from '../options/layout-reference.js';
import { addSigningOptions, registryReference, signingFrom, type SigningFlags } from '../options/signing-options.js';
import { addRecursiveOption, recursiveTargets, targetLabel } from '../options/recursive-option.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface SignFlags extends SigningFlags, RegistryFlags {
  annotations?: string[];
  json: boolean;
  recursive: boolean;
}

export function signCommand(): Command {
  const command = new Command('sign')
    .description('sign an image in a registry or an OCI layout, cosign v3 compatible: a Sigstore bundle attached as an OCI 1.1 referrer of the manifest digest')
    .argument('<image>', 'image reference: host/repo:tag, host/repo@sha256:…, or oci:<dir>[:<tag>|@sha256:…] (a tag is resolved to its digest, which is what gets signed)');
  addSigningOptions(command);
  addAnnotationOption(command, 'annotation to sign into the payload (repeatable): key=value');
  addRecursiveOption(command, 'for an index: sign the index and every manifest it lists (each platform its own signature), as cosign');
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
The signature is an in-toto statement (predicate type https://sigstore.dev/cosign/sign/v1) naming the manifest
digest, signed as DSSE into a v0.3 Sigstore bundle and pushed as a referrer manifest (artifactType
application/vnd.dev.sigstore.bundle.v0.3+json, subject = the image). Without a referrers API (docker-registry 2.8)
the sha256-<hex> referrers tag index is updated too. --legacy writes cosign's sha256-<hex>.sig tag instead.
--recursive signs an index and each platform manifest it lists (not BuildKit's attestation manifests), so
that a proxy with "platforms: pulled" admits whichever platform a node pulls.
oci:<dir> signs an image in an OCI image layout and stores the signature in the layout as tollgate copy stores a
registry image's: the referrer manifest in blobs/ and listed in the sha256-<hex> referrers tag of index.json (so
verify oci:… reads it, and copy and the proxy's oci: upstream carry it). Not with --legacy, --recursive or
--registry-referrers never.
Keyless: the identity token is --identity-token, else SIGSTORE_ID_TOKEN, else the GitHub Actions token
(audience sigstore); the source used is printed. See "CI" in docs/signing.md.
See docs/signing.md.

Exit status: 0 signed and attached, 2 usage error, unreadable key or layout, registry or Sigstore service failure.

Examples:
  COSIGN_PASSWORD=… tollgate sign localhost:5000/app:v1 --key cosign.key --tlog-upload=false
  tollgate sign registry.example.com/app@sha256:… --identity-token @token.jwt -a git-sha=abc123
  tollgate sign localhost:5000/app:v1 --key cosign.key --tlog-upload=false --legacy
  tollgate sign localhost:5000/multi:v1 --key cosign.key --recursive
  tollgate sign oci:./layout:v1 --key cosign.key --tlog-upload=false
  COSIGN_PKCS11_PIN=… tollgate sign localhost:5000/app:v1 --key 'pkcs11:token=release;object=signing?module-path=/usr/lib/softhsm/libsofthsm2.so'
  SIGSTORE_ID_TOKEN=$(cat token.jwt) tollgate sign registry.example.com/app@sha256:…   # keyless in CI`);
  return command.action(withStatus(async (image: string, flags: SignFlags) => {
    const layout = layoutReference(image);
    if (layout) {
      refuseRecursiveOnLayout(flags.recursive, 'sign');
      refuseRegistryStorageOnLayout(flags);
    }
    const signing = await signingFrom(flags);
    const annotations = annotationsFrom(flags.annotations);
    if (layout) {
      const result = await signLayoutReference(layout, signing, annotations ? { annotations } : {});
      if (flags.json) {
        writeJson({ image, signed: result.reference, digest: result.digest, referrer: { digest: result.referrer, fallbackTag: result.fallbackTag }, identityTokenSource: signing.identityTokenSource });
      } else {
        writeErr(`Writing signature to: oci:${layout.dir}`);
        writeOut(result.reference);
      }
      return ExitCode.Ok;
    }
    const reference = parseReference(registryReference(image));
    const client = new RegistryClient(reference.registry, registryOptionsFrom(flags));
    const options = { client, referrersMode: flags.registryReferrers, legacy: flags.legacy, ...(annotations ? { annotations } : {}) };
    if (!flags.recursive) {
      const result = await signImage(reference, signing, options);
      if (flags.json) {
        writeJson({ image, signed: result.reference, digest: result.digest, referrer: result.referrer, legacyTag: result.legacyTag, identityTokenSource: signing.identityTokenSource });
      } else {
        writeErr(`Pushing signature to: ${reference.name}`);
        writeOut(result.reference);
      }
      return ExitCode.Ok;
    }
    const targets = await recursiveTargets(client, reference, true);
    if (!flags.json) writeErr(`Pushing ${targets.length} ${targets.length === 1 ? 'signature' : 'signatures'} to: ${reference.name}`);
    const signed = [];
    for (const { target, reference: pinned } of targets) {
      const result = await signImage(pinned, signing, options);
      signed.push({ target, result });
      if (!flags.json) {
        writeErr(`  ${targetLabel(target)}`);
        writeOut(result.reference);
      }
    }
    if (flags.json) {
      const [root, ...children] = signed;
      writeJson({
        image, signed: root!.result.reference, digest: root!.result.digest, referrer: root!.result.referrer, legacyTag: root!.result.legacyTag,
        manifests: children.map(({ target, result }) => ({ signed: result.reference, digest: result.digest, platform: target.platform, referrer: result.referrer, legacyTag: result.legacyTag })),
        identityTokenSource: signing.identityTokenSource,
      });
    }
    return ExitCode.Ok;
  }));
}
