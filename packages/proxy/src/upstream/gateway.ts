import type { Readable } from 'node:stream';
import type { ContentSource, IndexManifest } from '@tollgate/core';
import type { UpstreamConfig } from '../config/types.js';
import { CountedCalls, type UpstreamObserver } from './counted-calls.js';
import { GatewayFlights } from './gateway-flights.js';
import { GatewaySource } from './gateway-source.js';
import { DEFAULT_SHARED_READ_LIMITS, type SharedReadLimits } from './shared-small-reads.js';
import type { TagsPage, Upstream, UpstreamManifest } from './types.js';

/**
 * The one way the proxy reaches an upstream: serving (manifests, blobs, tags, referrers) and the gate (the content
 * source it evaluates, with the signatures, referrers and attestations beside the image) alike. Every read is
 * counted by operation and outcome and reported to the upstream's health (a blob once its body ended); concurrent
 * identical reads of small things are shared, within bounds (GatewayFlights). What it wraps keeps verifying:
 * manifests come back checked against their digest, blobs are hashed by whoever streams them.
 */
export class UpstreamGateway implements Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly location: string;
  readonly dockerHub: boolean;
  private readonly calls: CountedCalls;
  private readonly flights: GatewayFlights;

  constructor(
    private readonly upstream: Upstream,
    observer: UpstreamObserver,
    limits: SharedReadLimits = DEFAULT_SHARED_READ_LIMITS,
  ) {
    this.name = upstream.name;
    this.config = upstream.config;
    this.location = upstream.location;
    this.dockerHub = upstream.dockerHub;
    this.calls = new CountedCalls(upstream.name, observer);
    this.flights = new GatewayFlights(limits);
  }

  getManifest(repository: string, reference: string): Promise<UpstreamManifest> {
    return this.flights.manifests.run(JSON.stringify([repository, reference]), () => this.calls.run('manifest', () => this.upstream.getManifest(repository, reference)));
  }

  /**
   * Not shared here: concurrent pulls of a blob share its download through the blob store (BlobFetch). Counted when
   * its body ends, not at its headers (CountedCalls.runBody).
   */
  getBlob(repository: string, digest: string, size: number, signal: AbortSignal): Promise<Readable> {
    return this.calls.runBody('blob', signal, `blob ${this.name}/${repository}@${digest}`, () => this.upstream.getBlob(repository, digest, size, signal));
  }

  listTags(repository: string, options: { n?: number; last?: string }): Promise<TagsPage> {
    const key = JSON.stringify([repository, options.n ?? null, options.last ?? null]);
    return this.flights.tags.run(key, () => this.calls.run('tags', () => this.upstream.listTags(repository, options)));
  }

  referrers(repository: string, digest: string, artifactType?: string): Promise<IndexManifest> {
    const key = JSON.stringify([repository, digest, artifactType ?? null]);
    return this.flights.referrers.run(key, () => this.calls.run('referrers', () => this.upstream.referrers(repository, digest, artifactType)));
  }

  source(repository: string): ContentSource {
    return new GatewaySource(this.upstream.source(repository), repository, this.calls, this.flights);
  }

  close(): Promise<void> {
    return this.upstream.close();
  }
}
