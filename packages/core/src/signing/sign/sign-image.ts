import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor } from '../../image/types.js';
import { parseReference, type ImageReference } from '../../reference/reference.js';
import { RegistryClient, type RegistryClientOptions } from '../../registry/client.js';
import { signBlob } from '../../sigstore/sign-blob.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from '../constants.js';
import { buildSimpleSigningPayload } from '../simple-signing.js';
import { imageAttestationStatement, imageSignatureStatement } from '../statement.js';
import { appendLegacyLayer, legacyLayerFromBundle } from '../storage/legacy-write.js';
import { pushBundleReferrer, type PushedReferrer, type ReferrersMode } from '../storage/push-referrer.js';
import { signStatement, type ImageSigningOptions } from './sign-dsse.js';

export interface SignImageOptions {
  client?: RegistryClient;
  registry?: RegistryClientOptions;
  /** `-a key=value`: signed into the statement subject (v3) or the simple-signing `optional` map (legacy). */
  annotations?: Record<string, string>;
  /** When to write the `sha256-<hex>` referrers tag (default auto: only where the registry has no referrers API). */
  referrersMode?: ReferrersMode;
  /** Write cosign's legacy `sha256-<hex>.sig` / `.att` tag instead of an OCI 1.1 referrer. */
  legacy?: boolean;
}

export interface SignImageResult {
  /** The reference pinned to the digest that was signed. */
  reference: string;
  digest: string;
  /** The referrer pushed (v3 format). */
  referrer?: PushedReferrer;
  /** The legacy tag written (with legacy). */
  legacyTag?: string;
  /** The bundle made (JSON). */
  bundle: unknown;
}

/**
 * Signs an image in a registry as cosign v3 does: the reference is resolved to its manifest digest first (a tag is
 * never what gets signed), an in-toto statement naming that digest is signed as DSSE, and the bundle is attached as
 * an OCI 1.1 referrer (with the referrers tag where the registry has no API). With `legacy`, cosign's `.sig` tag
 * scheme instead: a simple-signing payload signed as a message, stored as a layer with annotations.
 */
export async function signImage(image: string | ImageReference, signing: ImageSigningOptions, options: SignImageOptions = {}): Promise<SignImageResult> {
  const { reference, client, subject } = await resolveSubject(image, options);
  if (options.legacy) {
    const payload = buildSimpleSigningPayload(reference.name, subject.digest, options.annotations);
    const bundle = await signBlob(payload, signing);
    const tag = await appendLegacyLayer(client, reference.repository, subject.digest, 'sig', legacyLayerFromBundle('sig', payload, bundle));
    return { reference: pinned(reference, subject.digest), digest: subject.digest, legacyTag: tag, bundle };
  }
  const bundle = await signStatement(imageSignatureStatement(subject.digest, options.annotations), signing);
  const referrer = await pushBundleReferrer(client, reference.repository, subject, new TextEncoder().encode(JSON.stringify(bundle)), {
    content: 'dsse-envelope',
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    ...(options.referrersMode ? { mode: options.referrersMode } : {}),
  });
  return { reference: pinned(reference, subject.digest), digest: subject.digest, referrer, bundle };
}

export interface AttestImageOptions extends Omit<SignImageOptions, 'annotations'> {
  predicateType: string;
  /** The predicate (any JSON value). */
  predicate: unknown;
}

/** Attests an image: an in-toto Statement v1 (subject = name + manifest digest) signed as DSSE and attached like signImage. */
export async function attestImage(image: string | ImageReference, signing: ImageSigningOptions, options: AttestImageOptions): Promise<SignImageResult> {
  if (typeof options.predicateType !== 'string' || options.predicateType === '') throw new TollgateError('USAGE', 'an attestation needs a predicate type');
  const { reference, client, subject } = await resolveSubject(image, options);
  const statement = imageAttestationStatement(reference.name, subject.digest, options.predicateType, options.predicate);
  const bundle = await signStatement(statement, signing);
  if (options.legacy) {
    const tag = await appendLegacyLayer(client, reference.repository, subject.digest, 'att', legacyLayerFromBundle('att', undefined, bundle, options.predicateType));
    return { reference: pinned(reference, subject.digest), digest: subject.digest, legacyTag: tag, bundle };
  }
  const referrer = await pushBundleReferrer(client, reference.repository, subject, new TextEncoder().encode(JSON.stringify(bundle)), {
    content: 'dsse-envelope',
    predicateType: options.predicateType,
    ...(options.referrersMode ? { mode: options.referrersMode } : {}),
  });
  return { reference: pinned(reference, subject.digest), digest: subject.digest, referrer, bundle };
}

async function resolveSubject(image: string | ImageReference, options: SignImageOptions): Promise<{ reference: ImageReference; client: RegistryClient; subject: Descriptor }> {
  const reference = typeof image === 'string' ? parseReference(image) : image;
  const client = options.client ?? new RegistryClient(reference.registry, options.registry);
  if (client.registry !== reference.registry) throw new TollgateError('USAGE', `the registry client is for ${client.registry}, not ${reference.registry}`);
  const manifest = await client.getManifest(reference.repository, reference.pinned() ?? reference.tag ?? 'latest');
  if (manifest.mediaType === undefined) throw new TollgateError('INVALID_MANIFEST', `the registry did not say the media type of ${reference.toString()}; cannot name it as a referrer subject`);
  return { reference, client, subject: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.byteLength } };
}

function pinned(reference: ImageReference, digest: string): string {
  return `${reference.name}@${digest}`;
}
