/** Media types, annotations and predicate types of cosign's image signature formats (v3 referrers and legacy tags). */

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/** The predicate type cosign v3 gives the in-toto statement of an image signature. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

/** Legacy (`sha256-<hex>.sig` / `.att`) layers and their annotations. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const COSIGN_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const COSIGN_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
export const COSIGN_RFC3161_ANNOTATION = 'dev.sigstore.cosign/rfc3161timestamp';
export const LEGACY_PREDICATE_TYPE_ANNOTATION = 'predicateType';
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

/** The OCI empty descriptor's content (`{}`), used as the config of artifact manifests. */
export const EMPTY_CONFIG_BYTES = new TextEncoder().encode('{}');
export const EMPTY_CONFIG_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** What an untrusted registry can make a verifier fetch, unless told otherwise. */
export const DEFAULT_MAX_SIGNATURES = 100;
export const DEFAULT_MAX_SIGNATURE_BLOB_BYTES = 4 * 1024 * 1024;
