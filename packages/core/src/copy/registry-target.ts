import type { Readable } from 'node:stream';
import { TollgateError } from '../errors/tollgate-error.js';
import type { Descriptor } from '../image/types.js';
import type { RegistryClient } from '../registry/client.js';
import { addToFallbackIndex } from '../signing/storage/fallback-index.js';
import type { CopyTarget, MountSource } from './copy-target.js';

/**
 * A repository of a registry as a copy target. Blobs are HEADed first and uploaded only when missing (one PUT from
 * the verifying stream), or mounted from another repository of the same registry. Referrers are listed by the
 * registry's own API where it has one; otherwise the `sha256-<hex>` referrers tag index is merged.
 */
export class RegistryCopyTarget implements CopyTarget {
  readonly description: string;
  private referrersApi: Promise<boolean> | undefined;

  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
  ) {
    this.description = `docker://${client.registry}/${repository}`;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const found = await this.client.headBlob(this.repository, descriptor.digest);
    return found !== undefined && found.size === descriptor.size;
  }

  putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    return this.client.pushBlob(this.repository, () => content, descriptor.digest, descriptor.size, { knownMissing: true });
  }

  async mountBlob(descriptor: Descriptor, from: MountSource): Promise<boolean> {
    if (from.registry !== this.client.registry || from.repository === this.repository) return false;
    return this.client.mountBlob(this.repository, from.repository, descriptor.digest);
  }

  async hasManifest(digest: string): Promise<boolean> {
    return (await this.client.headManifest(this.repository, digest)) !== undefined;
  }

  async putManifest(bytes: Uint8Array, mediaType: string, digest: string): Promise<void> {
    await this.client.putManifest(this.repository, digest, bytes, mediaType);
  }

  async resolveTag(tag: string): Promise<string | undefined> {
    const head = await this.client.headManifest(this.repository, tag);
    if (head === undefined) return undefined;
    if (head.digest !== undefined) return head.digest;
    try {
      return (await this.client.getManifest(this.repository, tag)).digest;
    } catch (error) {
      if (error instanceof TollgateError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  async tagManifest(bytes: Uint8Array, mediaType: string, tag: string): Promise<void> {
    await this.client.putManifest(this.repository, tag, bytes, mediaType);
  }

  async addReferrer(subjectDigest: string, referrer: Descriptor): Promise<boolean> {
    // Asked once per copy: a registry with the API lists a pushed manifest with a subject by itself.
    this.referrersApi ??= this.client.referrers(this.repository, subjectDigest).then((listed) => listed.source === 'api');
    if (await this.referrersApi) return false;
    return addToFallbackIndex(this.client, this.repository, subjectDigest, referrer);
  }
}
