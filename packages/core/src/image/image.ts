import type { Readable } from 'node:stream';
import { TollgateError } from '../errors/tollgate-error.js';
import { parseDigest, digestOf } from '../digest/digest.js';
import { MAX_CONFIG_BYTES, parseImageConfig } from '../manifest/parse.js';
import { readBounded } from './read-bounded.js';
import type { ContentSource, Descriptor, ImageConfig, ImageManifest, OpenBlobOptions } from './types.js';

/**
 * A single-platform image: verified manifest bytes plus access to its config and layers through the source it
 * came from. The manifest was checked against its digest when the Image was made; the config is checked against
 * its descriptor when read; layers are checked by whoever streams them (validation, diff, the proxy).
 */
export class Image {
  readonly kind = 'image' as const;
  #config: Promise<{ raw: Uint8Array; parsed: ImageConfig }> | undefined;

  constructor(
    readonly source: ContentSource,
    /** The manifest bytes exactly as received. */
    readonly rawManifest: Uint8Array,
    readonly digest: string,
    readonly mediaType: string,
    readonly manifest: ImageManifest,
  ) {}

  get layers(): readonly Descriptor[] {
    return this.manifest.layers;
  }

  get configDescriptor(): Descriptor {
    return this.manifest.config;
  }

  /** The config bytes, verified against the manifest's config digest and size. */
  async rawConfig(): Promise<Uint8Array> {
    return (await this.#loadConfig()).raw;
  }

  async config(): Promise<ImageConfig> {
    return (await this.#loadConfig()).parsed;
  }

  /** The raw, unverified bytes of a blob of this image. */
  openBlob(descriptor: Descriptor, options?: OpenBlobOptions): Promise<Readable> {
    return this.source.openBlob(descriptor, options);
  }

  #loadConfig(): Promise<{ raw: Uint8Array; parsed: ImageConfig }> {
    this.#config ??= (async () => {
      const descriptor = this.manifest.config;
      const expected = parseDigest(descriptor.digest, 'config digest');
      if (descriptor.size > MAX_CONFIG_BYTES) {
        throw new TollgateError('SIZE_LIMIT', `config ${descriptor.digest} declares ${descriptor.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit for configs`);
      }
      const stream = await this.source.openBlob(descriptor);
      const raw = await readBounded(stream, descriptor.size, `config ${descriptor.digest}`).catch((error: unknown) => {
        if (error instanceof TollgateError && error.code === 'SIZE_LIMIT') {
          throw new TollgateError('SIZE_MISMATCH', `config ${descriptor.digest}: more bytes than the ${descriptor.size} the manifest declares; the config was altered`);
        }
        throw error;
      });
      const actual = digestOf(raw, expected.algorithm);
      if (actual !== expected.value) {
        throw new TollgateError('DIGEST_MISMATCH', `config: digest mismatch, expected ${expected.value}, got ${actual}; the config was altered or corrupted`);
      }
      if (raw.length !== descriptor.size) {
        throw new TollgateError('SIZE_MISMATCH', `config ${descriptor.digest}: size mismatch, manifest declares ${descriptor.size} bytes, got ${raw.length}`);
      }
      return { raw, parsed: parseImageConfig(raw, `config ${descriptor.digest}`) };
    })();
    return this.#config;
  }
}
