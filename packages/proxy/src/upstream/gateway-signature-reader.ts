import { Readable } from 'node:stream';
import { readBounded, type GetBlobOptions, type RawManifest, type ReferrersResult, type SignatureReader } from '@tollgate/core';
import type { CountedCalls } from './counted-calls.js';
import type { GatewayFlights } from './gateway-flights.js';
import { awaitAbortable } from './shared-small-reads.js';

/**
 * The gate's view of the signatures beside an image, read through the upstream gateway: every read counted and
 * reported to the upstream's health, concurrent identical reads shared (small blobs within the gateway's byte
 * budget). It hands on bytes exactly as the upstream's reader gave them: checking them against their digests stays
 * with the callers (core's signature fetching), as without the gateway. Shared reads take the gateway's `signal`
 * (aborted when the proxy gives up its reads), never one asker's: that one stops waiting (awaitAbortable), the read
 * goes on for the others.
 */
export class GatewaySignatureReader implements SignatureReader {
  constructor(
    private readonly inner: SignatureReader,
    private readonly calls: CountedCalls,
    private readonly flights: GatewayFlights,
    private readonly signal: AbortSignal,
  ) {}

  referrers(repository: string, digest: string, options: { artifactType?: string } = {}): Promise<ReferrersResult> {
    const key = JSON.stringify([repository, digest, options.artifactType ?? null]);
    return this.flights.signatureReferrers.run(key, () => this.calls.run('signature-referrers', this.signal, () => this.inner.referrers(repository, digest, { ...options, signal: this.signal })));
  }

  getManifest(repository: string, reference: string): Promise<RawManifest & { digest: string }> {
    return this.flights.signatureManifests.run(JSON.stringify([repository, reference]), () => this.calls.run('signature-manifest', this.signal, () => this.inner.getManifest(repository, reference, { signal: this.signal })));
  }

  async getBlob(repository: string, digest: string, options: GetBlobOptions = {}): Promise<Readable> {
    const size = options.expectedSize;
    const alone = () => this.calls.runBody('signature-blob', options.signal, `blob ${repository}@${digest}`, () => this.inner.getBlob(repository, digest, options));
    if (size === undefined || options.range !== undefined) return alone();
    // Read whole inside the counted call, so a body cut off mid-way counts (and reports the upstream) as it should.
    const signal = this.signal;
    const load = () => this.calls.run('signature-blob', signal, async () => readBounded(await this.inner.getBlob(repository, digest, { expectedSize: size, signal }), size, `blob ${digest}`));
    const shared = this.flights.signatureBlobs.run(JSON.stringify([repository, digest, size]), size, load);
    if (shared === undefined) return alone();
    const bytes = await awaitAbortable(shared, options.signal);
    return Readable.from([Buffer.from(bytes)]);
  }
}
