import { Command } from 'commander';
import { fetchSignatures, parseReference, predicateTypeFor, RegistryClient, resolveDigest, storedDocument, type StoredDocument } from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { registryReference } from '../options/signing-options.js';
import { addVerifyLimitOptions, limitsFrom, type VerifyLimitFlags } from '../options/verify-image-options.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface DownloadFlags extends RegistryFlags, VerifyLimitFlags {
  json: boolean;
  predicateType?: string;
}

/** `tollgate download signature|attestation IMAGE`, cosign's names: the stored documents, one JSON per line. */
export function downloadCommand(): Command {
  const command = new Command('download').description('print the signatures or attestations stored for an image, one JSON per line, like cosign download');
  command.addCommand(kindCommand('signature'));
  command.addCommand(kindCommand('attestation'));
  return command;
}

function kindCommand(kind: 'signature' | 'attestation'): Command {
  const command = new Command(kind)
    .description(kind === 'signature'
      ? 'print the image\'s signatures: cosign v3 Sigstore bundles, and legacy .sig entries as cosign prints them'
      : 'print the image\'s attestations: cosign v3 Sigstore bundles, and legacy .att DSSE envelopes')
    .argument('<image>', 'image reference: host/repo:tag or host/repo@sha256:… (a tag is resolved to its digest first)');
  if (kind === 'attestation') command.option('--predicate-type <type>', 'only attestations of this predicate type: slsaprovenance, spdxjson, … or a URI');
  addVerifyLimitOptions(command);
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
Prints what is stored, unverified (use tollgate ${kind === 'signature' ? 'verify' : 'verify-attestation'} to check it), one JSON document per line
on stdout: the Sigstore bundle of each OCI 1.1 referrer (referrers API or sha256-<hex> tag), then ${kind === 'signature'
    ? 'each layer of the legacy\nsha256-<hex>.sig tag as {Base64Signature, Payload (base64), Cert (PEM), Chain, Bundle, RFC3161Timestamp}'
    : 'the DSSE\nenvelope of each layer of the legacy sha256-<hex>.att tag'}.
--json prints one document listing them, each with where it was found.

Exit status: 0 printed, 1 nothing of the kind is attached, 2 usage error, registry unreachable, or an entry
unreadable (the others are still printed).

Examples:
  tollgate download ${kind} localhost:5000/app:v1${kind === 'attestation' ? ' --predicate-type slsaprovenance1' : ''}
  tollgate download ${kind} localhost:5000/app:v1 | jq -r '.dsseEnvelope.payload' | base64 -d`);
  return command.action(withStatus(async (image: string, flags: DownloadFlags) => {
    const predicateType = flags.predicateType !== undefined ? predicateTypeFor(flags.predicateType) : undefined;
    const reference = parseReference(registryReference(image));
    const client = new RegistryClient(reference.registry, registryOptionsFrom(flags));
    const digest = await resolveDigest(client, reference);
    const fetched = await fetchSignatures(client, reference.repository, digest, { include: kind === 'signature' ? 'signatures' : 'attestations', ...limitsFrom(flags) });
    for (const problem of fetched.problems) writeErr(`Error: ${problem}`);
    const documents: StoredDocument[] = [];
    let unreadable = fetched.problems.length;
    for (const entry of fetched.signatures) {
      const stored = storedDocument(entry);
      if ('error' in stored) {
        writeErr(`Error: ${stored.id}: ${stored.error}`);
        unreadable++;
        continue;
      }
      if (stored.kind !== kind || (predicateType !== undefined && stored.predicateType !== predicateType)) continue;
      documents.push(stored);
    }
    if (flags.json) writeJson({ reference: image, digest, [kind === 'signature' ? 'signatures' : 'attestations']: documents });
    else for (const stored of documents) writeOut(JSON.stringify(stored.document));
    if (unreadable > 0) return ExitCode.Error;
    if (documents.length === 0) {
      writeErr(`Error: no ${kind === 'signature' ? 'signatures' : `attestations${predicateType !== undefined ? ` of type ${predicateType}` : ''}`} attached to ${image} (${digest})`);
      return ExitCode.CheckFailed;
    }
    return ExitCode.Ok;
  }));
}
