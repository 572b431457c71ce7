import type { IndexManifest, RawManifest, ReferrersResult } from '@tollgate/core';
import { SingleFlight } from '../fetch/single-flight.js';
import { SharedBlobReads, type SharedReadLimits } from './shared-small-reads.js';
import type { TagsPage, UpstreamManifest } from './types.js';

/**
 * The reads of one upstream that concurrent identical askers share: everything small (manifests, listings,
 * signature artifacts). Layer blobs are not here: their downloads are shared through the blob store (BlobFetch).
 */
export class GatewayFlights {
  readonly manifests: SingleFlight<UpstreamManifest>;
  readonly tags: SingleFlight<TagsPage>;
  readonly referrers: SingleFlight<IndexManifest>;
  /** Manifests the gate reads through the image's content source (an index's children, a parent index). */
  readonly sourceManifests: SingleFlight<RawManifest>;
  readonly signatureReferrers: SingleFlight<ReferrersResult>;
  readonly signatureManifests: SingleFlight<RawManifest & { digest: string }>;
  readonly signatureBlobs: SharedBlobReads;

  constructor(limits: SharedReadLimits) {
    this.manifests = new SingleFlight(limits.maxShared);
    this.tags = new SingleFlight(limits.maxShared);
    this.referrers = new SingleFlight(limits.maxShared);
    this.sourceManifests = new SingleFlight(limits.maxShared);
    this.signatureReferrers = new SingleFlight(limits.maxShared);
    this.signatureManifests = new SingleFlight(limits.maxShared);
    this.signatureBlobs = new SharedBlobReads(limits);
  }
}
