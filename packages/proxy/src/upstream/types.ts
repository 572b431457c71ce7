import type { Readable } from 'node:stream';
import type { ContentSource, IndexManifest } from '@tollgate/core';
import type { UpstreamConfig } from '../config/types.js';

/** A manifest from an upstream: bytes as received, its parsed media type and the digest computed from the bytes. */
export interface UpstreamManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

export interface TagsPage {
  tags: string[];
  /** The upstream says there are more tags after this page. */
  more: boolean;
}

/**
 * One configured upstream, whatever it is (a distribution registry, an OCI layout). Manifests come back verified
 * against the digest that names them (or the Docker-Content-Digest the upstream sent); blobs come back unverified
 * (the blob fetch hashes them on the way).
 */
export interface Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  /** Where it is, for logs (never with credentials). */
  readonly location: string;
  /** Docker Hub: single-component repositories get `library/`. */
  readonly dockerHub: boolean;
  /** `signal`, where a read takes one, stops it: the proxy gave it up (UpstreamGateway.abandonReads). */
  getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<UpstreamManifest>;
  getBlob(repository: string, digest: string, size: number, signal: AbortSignal): Promise<Readable>;
  listTags(repository: string, options: { n?: number; last?: string }, signal?: AbortSignal): Promise<TagsPage>;
  referrers(repository: string, digest: string, artifactType?: string, signal?: AbortSignal): Promise<IndexManifest>;
  /** The repository as a content source, for gates that need to fetch more (signatures, attestations). */
  source(repository: string): ContentSource;
  close(): Promise<void>;
}
