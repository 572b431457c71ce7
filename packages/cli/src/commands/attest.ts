import { Command } from 'commander';
import {
  attestImage,
  computeFileManifest,
  FILEMANIFEST_PREDICATE_TYPE,
  openImage,
  parseReference,
  parseStrictJson,
  predicateTypeFor,
  readInputFile,
  RegistryClient,
  TollgateError,
  wrapCustomPredicate,
  COSIGN_CUSTOM_PREDICATE_TYPE,
  hostPlatform,
  loadManifest,
  OciLayoutSource,
  resolveLayoutSubject,
  OciLayoutSignatureReader,
  signLayoutReference,
  type LayoutImageReference,
} from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { layoutReference, refuseRecursiveOnLayout, refuseRegistryStorageOnLayout } from '../options/layout-reference.js';
import { addSigningOptions, registryReference, signingFrom, type SigningFlags } from '../options/signing-options.js';
import { addRecursiveOption, recursiveTargets, targetLabel } from '../options/recursive-option.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface AttestFlags extends SigningFlags, RegistryFlags {
  predicate?: string;
  type: string;
  json: boolean;
  recursive: boolean;
}

const MAX_PREDICATE_BYTES = 32 * 1024 * 1024;

export function attestCommand(): Command {
  const command = new Command('attest')
    .description('attest an image in a registry or an OCI layout: an in-toto Statement v1 about its manifest digest, signed as DSSE and attached like cosign v3')
    .argument('<image>', 'image reference: host/repo:tag, host/repo@sha256:…, or oci:<dir>[:<tag>|@sha256:…]')
    .option('--predicate <file>', 'the predicate (JSON; any text for --type custom); not used with --type filemanifest')
    .requiredOption('--type <type>', 'slsaprovenance, slsaprovenance1, spdxjson, cyclonedx, vuln, openvex, custom, filemanifest, or a predicate type URI');
  addSigningOptions(command);
  addRecursiveOption(command, 'for an index: attest the index and every manifest it lists (each its own attestation; filemanifest computed per platform)');
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
--type filemanifest computes tollgate's predicate https://tollgate.dev/attestations/filemanifest/v1 from the image
itself: its full merged file index (path -> type, mode, owner, size, sha256), so any later change of a file can be
proven against the signed baseline. See docs/signing.md.
--recursive attests an index and each platform manifest it lists, as sign --recursive.
oci:<dir> attests an image in an OCI image layout and stores the attestation in the layout as sign oci:… stores a
signature (the sha256-<hex> referrers tag); the statement's subject name is the tag, else the digest. Not with
--legacy, --recursive or --registry-referrers never.
Keyless (no --key): the identity token is --identity-token, else SIGSTORE_ID_TOKEN, else the GitHub Actions
token (audience sigstore); the source used is printed. See "CI" in docs/signing.md.

Exit status: 0 attested and attached, 2 usage error, unreadable predicate, key or layout, registry or service failure.

Examples:
  tollgate attest localhost:5000/app:v1 --key cosign.key --type slsaprovenance1 --predicate provenance.json
  tollgate attest localhost:5000/app:v1 --key cosign.key --type filemanifest --tlog-upload=false
  tollgate attest oci:./layout:v1 --key cosign.key --type filemanifest --tlog-upload=false
  tollgate attest localhost:5000/multi:v1 --key cosign.key --type slsaprovenance1 --predicate p.json --recursive
  COSIGN_PKCS11_PIN=… tollgate attest localhost:5000/app:v1 --key 'pkcs11:token=release;object=signing?module-path=/usr/lib/softhsm/libsofthsm2.so' --type filemanifest
  tollgate attest registry.example.com/app@sha256:… --identity-token @token.jwt --type https://example.com/p/v1 --predicate p.json`);
  return command.action(withStatus(async (image: string, flags: AttestFlags) => {
    const predicateType = predicateTypeFor(flags.type);
    const layout = layoutReference(image);
    if (layout) {
      refuseRecursiveOnLayout(flags.recursive, 'attest');
      refuseRegistryStorageOnLayout(flags);
      return attestLayout(image, layout, predicateType, await signingFrom(flags), flags);
    }
    const signing = await signingFrom(flags);
    const reference = parseReference(registryReference(image));
    const registry = registryOptionsFrom(flags);
    const client = new RegistryClient(reference.registry, registry);
    let predicate: unknown;
    const fileManifestOf = async (target: typeof reference): Promise<unknown> => {
      const opened = await openImage(`docker://${target.toString()}`, { registry });
      try {
        return await computeFileManifest(opened.image);
      } finally {
        await opened.source.close?.();
      }
    };
    if (predicateType === FILEMANIFEST_PREDICATE_TYPE) {
      if (flags.predicate !== undefined) throw new TollgateError('USAGE', '--type filemanifest computes the predicate from the image; do not give --predicate');
      if (!flags.recursive) predicate = await fileManifestOf(reference);
    } else {
      predicate = await givenPredicate(flags);
    }
    const options = { client, predicateType, referrersMode: flags.registryReferrers, legacy: flags.legacy };
    if (!flags.recursive) {
      const result = await attestImage(reference, signing, { ...options, predicate });
      if (flags.json) writeJson({ image, attested: result.reference, digest: result.digest, predicateType, referrer: result.referrer, legacyTag: result.legacyTag, identityTokenSource: signing.identityTokenSource });
      else {
        writeErr(`Pushing attestation (${predicateType}) to: ${reference.name}`);
        writeOut(result.reference);
      }
      return ExitCode.Ok;
    }
    const targets = await recursiveTargets(client, reference, true);
    if (!flags.json) writeErr(`Pushing ${targets.length} attestations (${predicateType}) to: ${reference.name}`);
    const attested = [];
    for (const { target, reference: pinned } of targets) {
      const targetPredicate = predicateType === FILEMANIFEST_PREDICATE_TYPE ? await fileManifestOf(pinned) : predicate;
      const result = await attestImage(pinned, signing, { ...options, predicate: targetPredicate });
      attested.push({ target, result });
      if (!flags.json) {
        writeErr(`  ${targetLabel(target)}`);
        writeOut(result.reference);
      }
    }
    if (flags.json) {
      const [root, ...children] = attested;
      writeJson({
        image, attested: root!.result.reference, digest: root!.result.digest, predicateType, referrer: root!.result.referrer, legacyTag: root!.result.legacyTag,
        manifests: children.map(({ target, result }) => ({ attested: result.reference, digest: result.digest, platform: target.platform, referrer: result.referrer, legacyTag: result.legacyTag })),
        identityTokenSource: signing.identityTokenSource,
      });
    }
    return ExitCode.Ok;
  }));
}

/** The predicate of --predicate <file>: JSON, or any text wrapped as cosign does for --type custom. */
async function givenPredicate(flags: AttestFlags): Promise<unknown> {
  if (flags.predicate === undefined) throw new TollgateError('USAGE', `--type ${flags.type} needs --predicate <file>`);
  const bytes = await readInputFile(flags.predicate, MAX_PREDICATE_BYTES, 'predicate');
  return predicateTypeFor(flags.type) === COSIGN_CUSTOM_PREDICATE_TYPE && flags.type === 'custom'
    ? wrapCustomPredicate(bytes.toString('utf8'))
    : parseStrictJson(bytes, `predicate ${flags.predicate}`, { maxBytes: MAX_PREDICATE_BYTES });
}

/** attest oci:…: the predicate (filemanifest computed from the digest the reference resolves to), stored in the layout. */
async function attestLayout(image: string, layout: LayoutImageReference, predicateType: string, signing: Awaited<ReturnType<typeof signingFrom>>, flags: AttestFlags): Promise<number> {
  let predicate: unknown;
  // The digest is resolved first and the file manifest computed from that manifest, so a tag moved meanwhile cannot
  // make the statement describe one image while naming another.
  const subject = await resolveLayoutSubject(new OciLayoutSignatureReader(layout.dir), layout);
  const pinned: LayoutImageReference = { dir: layout.dir, digest: subject.digest };
  if (predicateType === FILEMANIFEST_PREDICATE_TYPE) {
    if (flags.predicate !== undefined) throw new TollgateError('USAGE', '--type filemanifest computes the predicate from the image; do not give --predicate');
    const source = new OciLayoutSource(layout.dir);
    const root = loadManifest(source, await source.fetchManifest(subject));
    predicate = await computeFileManifest(root.kind === 'image' ? root : await root.imageFor(hostPlatform()));
  } else {
    predicate = await givenPredicate(flags);
  }
  const result = await signLayoutReference({ ...pinned, ...(layout.tag !== undefined ? { tag: layout.tag } : {}) }, signing, { attestation: { predicateType, predicate } });
  if (flags.json) {
    writeJson({ image, attested: result.reference, digest: result.digest, predicateType, referrer: { digest: result.referrer, fallbackTag: result.fallbackTag }, identityTokenSource: signing.identityTokenSource });
  } else {
    writeErr(`Writing attestation (${predicateType}) to: oci:${layout.dir}`);
    writeOut(result.reference);
  }
  return ExitCode.Ok;
}
