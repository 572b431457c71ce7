import { TollgateError } from '../../errors/tollgate-error.js';
import { parseReference, type ImageReference } from '../../reference/reference.js';
import { RegistryClient, type RegistryClientOptions } from '../../registry/client.js';
import { fetchSignatures } from '../storage/fetch-signatures.js';
import type { ImageVerificationResult, SignatureLimits } from '../types.js';
import type { ImageTrust, ImageVerifyOptions } from './trust.js';
import { verifyImageAttestations, verifyImageSignatures } from './verify-image-signatures.js';

export interface VerifyImageOptions extends ImageVerifyOptions, SignatureLimits {
  /** A client for the image's registry; one is made from `registry` otherwise. */
  client?: RegistryClient;
  registry?: RegistryClientOptions;
  /** Verify attestations of this predicate type instead of signatures. */
  predicateType?: string;
  /** Skip the docker-reference check of legacy simple-signing payloads. */
  ignoreDockerReference?: boolean;
}

/**
 * Verifies an image in a registry end to end: the reference is resolved to its manifest digest (a tag is never what
 * is verified), the signatures attached to that digest are fetched within the limits, then verified purely.
 */
export async function verifyImage(image: string | ImageReference, trust: ImageTrust, options: VerifyImageOptions = {}): Promise<ImageVerificationResult> {
  const reference = typeof image === 'string' ? parseReference(image) : image;
  const client = options.client ?? new RegistryClient(reference.registry, options.registry);
  if (client.registry !== reference.registry) throw new TollgateError('USAGE', `the registry client is for ${client.registry}, not ${reference.registry}`);
  const digest = await resolveDigest(client, reference);
  const include = options.predicateType !== undefined ? 'attestations' : 'signatures';
  const fetched = await fetchSignatures(client, reference.repository, digest, { ...limitsOf(options), include });
  const verifyOptions: ImageVerifyOptions = { ...options, ...(options.ignoreDockerReference ? {} : { repository: reference.name }) };
  return options.predicateType !== undefined
    ? verifyImageAttestations(digest, reference.toString(), fetched, trust, { ...verifyOptions, predicateType: options.predicateType })
    : verifyImageSignatures(digest, reference.toString(), fetched, trust, verifyOptions);
}

/** The manifest digest a reference names: the pinned digest, or the tag's manifest fetched and hashed. */
export async function resolveDigest(client: RegistryClient, reference: ImageReference): Promise<string> {
  const pinned = reference.pinned();
  if (pinned !== undefined) return pinned;
  const manifest = await client.getManifest(reference.repository, reference.tag ?? 'latest');
  return manifest.digest;
}

function limitsOf(options: SignatureLimits): SignatureLimits {
  return {
    ...(options.maxSignatures !== undefined ? { maxSignatures: options.maxSignatures } : {}),
    ...(options.maxBlobBytes !== undefined ? { maxBlobBytes: options.maxBlobBytes } : {}),
  };
}
