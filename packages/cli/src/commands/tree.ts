import { Command } from 'commander';
import { listAttachments, parseReference, RegistryClient, resolveDigest, TollgateError } from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { registryReference } from '../options/signing-options.js';
import { renderAttachmentTree } from '../output/attachment-tree.js';
import { writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface TreeFlags extends RegistryFlags {
  json: boolean;
  maxAttachments: string;
}

export function treeCommand(): Command {
  const command = new Command('tree')
    .description('show what is attached to an image, like cosign tree: signatures, attestations by predicate type, SBOMs, notation signatures, other referrers')
    .argument('<image>', 'image reference: host/repo:tag or host/repo@sha256:… (a tag is resolved to its digest first)')
    .option('--max-attachments <n>', 'most attachments listed', '1000');
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
Looks at the OCI 1.1 referrers API (else the sha256-<hex> referrers tag index) and cosign's legacy
sha256-<hex>.sig, .att and .sbom tags of the manifest digest. Referrers are grouped by artifactType and their
annotations: Sigstore bundles (cosign v3) as signatures or attestations (by dev.sigstore.bundle.predicateType),
SPDX/CycloneDX as SBOMs, application/vnd.cncf.notary.signature as notation signatures. Nothing is verified here:
use tollgate verify / verify-attestation / notation verify for that. For an index, the index's own attachments
are listed; give a platform manifest's digest for its own.

Exit status: 0 listed (also when nothing is attached), 2 usage error, registry unreachable or unreadable listing.

Examples:
  tollgate tree localhost:5000/app:v1
  tollgate tree registry.example.com/app@sha256:… --json | jq '.attachments[] | select(.kind == "attestation")'`);
  return command.action(withStatus(async (image: string, flags: TreeFlags) => {
    const maxAttachments = Number(flags.maxAttachments);
    if (!Number.isInteger(maxAttachments) || maxAttachments < 1) throw new TollgateError('USAGE', '--max-attachments must be a whole number of at least 1');
    const reference = parseReference(registryReference(image));
    const client = new RegistryClient(reference.registry, registryOptionsFrom(flags));
    const digest = await resolveDigest(client, reference);
    const found = await listAttachments(client, reference.repository, digest, { maxAttachments });
    if (flags.json) writeJson({ reference: image, ...found });
    else writeOut(renderAttachmentTree(image, found).join('\n'));
    return ExitCode.Ok;
  }));
}
