import { Command } from 'commander';
import { parseReference, predicateTypeFor, RegistryClient, verifyImage, verifyLayoutImage } from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { layoutReference } from '../options/layout-reference.js';
import { registryReference } from '../options/signing-options.js';
import { addTrustOptions, trustFrom, type TrustFlags } from '../options/trust-options.js';
import { addVerifyLimitOptions, limitsFrom, type VerifyLimitFlags } from '../options/verify-image-options.js';
import { reportVerification } from '../output/verification.js';
import { withStatus } from '../run-status.js';

interface VerifyAttestationFlags extends TrustFlags, RegistryFlags, VerifyLimitFlags {
  type: string;
  json: boolean;
}

export function verifyAttestationCommand(): Command {
  const command = new Command('verify-attestation')
    .description('verify the attestations of one predicate type on an image in a registry or an OCI layout, offline against a trusted root')
    .argument('<image>', 'image reference: host/repo:tag, host/repo@sha256:…, or oci:<dir>[:<tag>|@sha256:…]')
    .requiredOption('--type <type>', 'slsaprovenance, slsaprovenance1, spdxjson, cyclonedx, vuln, openvex, custom, filemanifest, or a predicate type URI');
  addTrustOptions(command);
  addVerifyLimitOptions(command);
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
An attestation passes when its signature verifies (as for tollgate verify), its in-toto statement's subject digest
is the image's manifest digest, and its predicate type is exactly the one asked for. A valid attestation of another
type never satisfies --type. --json prints each verified statement. oci:<dir> reads the attestations stored in the
layout (as tollgate attest, tollgate copy and cosign save write them).

Exit status: 0 at least one valid attestation of the type, 1 none (reasons printed), 2 usage or operational error.

Examples:
  tollgate verify-attestation localhost:5000/app:v1 --type slsaprovenance1 --key cosign.pub --insecure-ignore-tlog
  tollgate verify-attestation oci:./layout:v1 --type filemanifest --key cosign.pub --insecure-ignore-tlog
  tollgate verify-attestation localhost:5000/app:v1 --type filemanifest --certificate-identity ci@example.com \\
    --certificate-oidc-issuer https://accounts.example.com --trusted-root trusted_root.json --json`);
  return command.action(withStatus(async (image: string, flags: VerifyAttestationFlags) => {
    const predicateType = predicateTypeFor(flags.type);
    const trust = await trustFrom(flags);
    const layout = layoutReference(image);
    if (layout) {
      const result = await verifyLayoutImage(layout, trust, { predicateType, insecureIgnoreTlog: flags.insecureIgnoreTlog, ...limitsFrom(flags) });
      return reportVerification(image, result, trust, flags);
    }
    const reference = parseReference(registryReference(image));
    const client = new RegistryClient(reference.registry, registryOptionsFrom(flags));
    const result = await verifyImage(reference, trust, { client, predicateType, insecureIgnoreTlog: flags.insecureIgnoreTlog, ...limitsFrom(flags) });
    return reportVerification(image, result, trust, flags);
  }));
}
