import type { Readable } from 'node:stream';
import { TollgateError, type ContentSource, type IndexManifest } from '@tollgate/core';
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
 * manifests come back checked against their digest, blobs are hashed by whoever streams them. Reads still in
 * flight when the proxy shuts down are given up (abandonReads), and counted as such, not as the upstream failing.
 */
export class UpstreamGateway implements Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly location: string;
  readonly dockerHub: boolean;
  private readonly calls: CountedCalls;
  private readonly flights: GatewayFlights;
  /** Aborted when the proxy gives up the reads still in flight: every read but a blob's (which has its own) takes it. */
  private readonly reads = new AbortController();

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
    const signal = this.reads.signal;
    return this.flights.manifests.run(JSON.stringify([repository, reference]), () => this.calls.run('manifest', signal, () => this.upstream.getManifest(repository, reference, signal)));
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
    const signal = this.reads.signal;
    return this.flights.tags.run(key, () => this.calls.run('tags', signal, () => this.upstream.listTags(repository, options, signal)));
  }

  referrers(repository: string, digest: string, artifactType?: string): Promise<IndexManifest> {
    const key = JSON.stringify([repository, digest, artifactType ?? null]);
    const signal = this.reads.signal;
    return this.flights.referrers.run(key, () => this.calls.run('referrers', signal, () => this.upstream.referrers(repository, digest, artifactType, signal)));
  }

  source(repository: string): ContentSource {
    return new GatewaySource(this.upstream.source(repository), repository, this.calls, this.flights, this.reads.signal);
  }

  /**
   * Gives up the reads still in flight and any read asked for later (the proxy is shutting down, nobody waits for
   * them): each fails with a NETWORK_ERROR saying so, and counts as `aborted`, leaving the upstream's health alone.
   * Blob reads have their own signal (the download's), aborted by whoever started them.
   */
  abandonReads(): void {
    if (!this.reads.signal.aborted) this.reads.abort(new TollgateError('NETWORK_ERROR', `upstream ${this.name}: the read was given up, the proxy is shutting down`));
  }

  close(): Promise<void> {
    this.abandonReads();
    return this.upstream.close();
  }
}
