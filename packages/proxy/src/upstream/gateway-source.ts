import type { Readable } from 'node:stream';
import { signatureLocationOf, type ContentSource, type Descriptor, type OpenBlobOptions, type RawManifest, type SignatureLocation, type SignatureLocationSource } from '@tollgate/core';
import type { CountedCalls } from './counted-calls.js';
import type { GatewayFlights } from './gateway-flights.js';
import { GatewaySignatureReader } from './gateway-signature-reader.js';

/**
 * An upstream repository as the gate reads it (GateRequest.source / signatureSource), through the gateway: manifests
 * and blobs counted (child manifests shared between concurrent askers), and its signatures read through a
 * GatewaySignatureReader. Bytes pass as the wrapped source gave them; the gate checks them against their digests.
 * `signal` is the gateway's (aborted when the proxy gives up its reads): a manifest read failing after it is
 * `aborted`, not an upstream failure (a ContentSource's manifest reads take no signal, so it only classifies them).
 */
export class GatewaySource implements ContentSource, SignatureLocationSource {
  readonly description: string;

  constructor(
    private readonly inner: ContentSource,
    private readonly repository: string,
    private readonly calls: CountedCalls,
    private readonly flights: GatewayFlights,
    private readonly signal: AbortSignal,
  ) {
    this.description = inner.description;
  }

  resolveRoot(): Promise<RawManifest> {
    return this.calls.run('manifest', this.signal, () => this.inner.resolveRoot());
  }

  fetchManifest(descriptor: Descriptor): Promise<RawManifest> {
    const key = JSON.stringify([this.repository, descriptor.digest, descriptor.mediaType]);
    return this.flights.sourceManifests.run(key, () => this.calls.run('manifest', this.signal, () => this.inner.fetchManifest(descriptor)));
  }

  openBlob(descriptor: Descriptor, options?: OpenBlobOptions): Promise<Readable> {
    return this.calls.runBody('blob', options?.signal, `blob ${this.repository}@${descriptor.digest}`, () => this.inner.openBlob(descriptor, options));
  }

  signatureLocation(): SignatureLocation | undefined {
    const location = signatureLocationOf(this.inner);
    if (location === undefined) return undefined;
    return { reader: new GatewaySignatureReader(location.reader, this.calls, this.flights, this.signal), repository: location.repository };
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
