import { Command } from 'commander';
import { parseReference, RegistryClient, verifyImage, verifyLayoutImage } from '@tollgate/core';
import { addAnnotationOption, annotationsFrom } from '../options/annotation-options.js';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { layoutReference, refuseRecursiveOnLayout } from '../options/layout-reference.js';
import { registryReference } from '../options/signing-options.js';
import { addTrustOptions, trustFrom, type TrustFlags } from '../options/trust-options.js';
import { addVerifyLimitOptions, limitsFrom, type VerifyLimitFlags } from '../options/verify-image-options.js';
import { reportVerification } from '../output/verification.js';
import { reportRecursiveVerification } from '../output/recursive-verification.js';
import { addRecursiveOption, recursiveTargets } from '../options/recursive-option.js';
import { withStatus } from '../run-status.js';

interface VerifyFlags extends TrustFlags, RegistryFlags, VerifyLimitFlags {
  annotations?: string[];
  json: boolean;
  recursive: boolean;
}

export function verifyCommand(): Command {
  const command = new Command('verify')
    .description('verify the signatures of an image in a registry or an OCI layout, offline against a trusted root (cosign v3 referrers, the referrers tag, and legacy .sig tags)')
    .argument('<image>', 'image reference: host/repo:tag, host/repo@sha256:…, or oci:<dir>[:<tag>|@sha256:…] (a tag is resolved to its digest first)');
  addTrustOptions(command);
  addAnnotationOption(command, 'annotation the signed payload must carry (repeatable): key=value');
  addVerifyLimitOptions(command);
  addRecursiveOption(command, 'for an index: verify the index and every manifest it lists; fails if any of them fails');
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
A signature passes when: it verifies over its payload; the payload names the exact manifest digest (and, for a
legacy simple-signing payload, this repository); the certificate chains to the trusted root and its identity and
issuer match (exactly, or a regexp matched against the whole value), or the key matches; it is in the
transparency log (unless --insecure-ignore-tlog) with a matching entry; the signing time is inside the
certificate's validity. Discovery: referrers API, then the sha256-<hex> tag, then the legacy sha256-<hex>.sig tag.
--recursive verifies an index and each platform manifest it lists (as signed by sign --recursive), each on its own.
oci:<dir> verifies an image in an OCI image layout from the signatures stored in it (as tollgate sign, tollgate copy
and cosign save write them: the sha256-<hex> referrers tag and the sha256-<hex>.sig tag in index.json), with the
same checks, except that a legacy payload's docker-reference is not compared (a layout has no registry name).

Exit status: 0 at least one valid signature (with --recursive: on every manifest), 1 none (each examined
signature's reason is printed; with --recursive the manifests that failed are listed), 2 usage or operational error.

Examples:
  tollgate verify localhost:5000/app:v1 --key cosign.pub --insecure-ignore-tlog
  tollgate verify localhost:5000/multi:v1 --key cosign.pub --recursive
  tollgate verify oci:./layout:v1 --key cosign.pub --insecure-ignore-tlog
  tollgate verify ghcr.io/org/app@sha256:… --certificate-identity-regexp 'https://github\\.com/org/.*' \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com --json`);
  return command.action(withStatus(async (image: string, flags: VerifyFlags) => {
    const layout = layoutReference(image);
    if (layout) refuseRecursiveOnLayout(flags.recursive, 'verify');
    const trust = await trustFrom(flags);
    const annotations = annotationsFrom(flags.annotations);
    if (layout) {
      const result = await verifyLayoutImage(layout, trust, { insecureIgnoreTlog: flags.insecureIgnoreTlog, ...limitsFrom(flags), ...(annotations ? { annotations } : {}) });
      return reportVerification(image, result, trust, flags);
    }
    const reference = parseReference(registryReference(image));
    const client = new RegistryClient(reference.registry, registryOptionsFrom(flags));
    const options = { client, insecureIgnoreTlog: flags.insecureIgnoreTlog, ...limitsFrom(flags), ...(annotations ? { annotations } : {}) };
    if (!flags.recursive) return reportVerification(image, await verifyImage(reference, trust, options), trust, flags);
    const verified = [];
    for (const { target, reference: pinned } of await recursiveTargets(client, reference, true)) {
      verified.push({ target, result: await verifyImage(pinned, trust, options) });
    }
    return reportRecursiveVerification(image, verified, trust, flags);
  }));
}
