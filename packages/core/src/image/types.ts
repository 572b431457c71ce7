import type { Readable } from 'node:stream';

/** An OCI platform: what a manifest in an index is built for. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  features?: string[];
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  data?: string;
}

/** An image manifest: OCI image manifest or Docker schema 2 manifest. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image index: OCI image index or Docker manifest list. */
export interface IndexManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** The runtime part of an image config (`config` key), with Docker's capitalised field names. */
export interface ContainerConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
}

/** An image configuration (OCI image config / Docker container image v1). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture?: string;
  os?: string;
  variant?: string;
  'os.version'?: string;
  config?: ContainerConfig;
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** Manifest bytes exactly as a source produced them, with what the source says about them. */
export interface RawManifest {
  bytes: Uint8Array;
  /** Media type the source declared (HTTP Content-Type, descriptor mediaType); undefined when it declared none. */
  mediaType: string | undefined;
  /** Digest the source claims for these bytes (reference digest, Docker-Content-Digest, descriptor); checked by the caller. */
  expectedDigest?: string;
}

export interface OpenBlobOptions {
  signal?: AbortSignal;
  /** Byte range [start, end] inclusive, for sources that support it. */
  range?: { start: number; end?: number };
}

/**
 * Where manifests and blobs come from: a registry, an OCI layout, a docker archive. Sources hand out bytes as they
 * are; checking them against digests is the caller's job (Image, validation), so a new source costs one file and
 * cannot weaken verification.
 */
export interface ContentSource {
  /** Human description, e.g. `docker://localhost:5000/app:1` or `oci:/tmp/layout:v1`. */
  readonly description: string;
  /** The manifest (or index) the reference names. */
  resolveRoot(): Promise<RawManifest>;
  /** A manifest or index by descriptor (a child of an index). */
  fetchManifest(descriptor: Descriptor): Promise<RawManifest>;
  /** A stream of the blob's bytes, unverified. Sources stop after at most `descriptor.size` bytes where they can. */
  openBlob(descriptor: Descriptor, options?: OpenBlobOptions): Promise<Readable>;
  /** Release file handles and connections. */
  close?(): Promise<void>;
}
