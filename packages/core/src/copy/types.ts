import type { Platform } from '../image/types.js';
import type { AttachmentKind } from '../signing/classify-referrer.js';

export interface CopyImageOptions {
  /** Tag to point at the copied image at the destination; without one the image is stored by digest only. */
  tag?: string;
  /** The destination was named by digest: the source's digest must be this one. */
  expectDigest?: string;
  /** Copy only this platform's manifest out of an index (its digest unchanged; the index itself is not copied). */
  platform?: Platform;
  /** Copy only these attachments (cosign's `--only`), not the image itself. */
  only?: ReadonlySet<AttachmentKind>;
  /** Move a tag (the image's, or a legacy `.sig`/`.att`/`.sbom` tag) that names another digest at the destination. */
  force?: boolean;
  /** Blobs copied at once (default 3). */
  concurrency?: number;
  /** Attachments of one manifest, at most (default 100); more is refused rather than copied in part. */
  maxAttachments?: number;
  /** How deep attachments of attachments are followed (default 2: a signature of an SBOM is copied). */
  maxAttachmentDepth?: number;
  /** Told about each blob as it is handled, and about bytes as they pass (for progress on a terminal). */
  onProgress?: (event: CopyProgressEvent) => void;
}

export type CopyProgressEvent =
  | { type: 'blob'; digest: string; size: number; status: 'copied' | 'present' | 'mounted' }
  | { type: 'bytes'; bytes: number }
  | { type: 'planned'; blobs: number; bytes: number };

export interface CopiedAttachment {
  /** The manifest it is attached to. */
  subject: string;
  /** Its manifest digest. */
  digest: string;
  kind: AttachmentKind;
  /** `referrer`: listed by the referrers API or the `sha256-<hex>` tag; `legacy-tag`: cosign's `.sig`/`.att`/`.sbom` tag. */
  via: 'referrer' | 'legacy-tag';
  tag?: string;
  artifactType?: string;
  /** `copied`, or `present` when the destination had it already. */
  status: 'copied' | 'present';
}

export interface CopyResult {
  source: string;
  destination: string;
  /** The digest of what was copied (the root, or the platform's manifest with --platform); the same at both ends. */
  digest: string;
  mediaType: string;
  /** The tag set at the destination (absent: by digest only, or --only). */
  tag?: string;
  /** With --platform: the platform copied. */
  platform?: string;
  imageCopied: boolean;
  manifests: { copied: number; present: number };
  blobs: { copied: number; present: number; mounted: number; bytes: number };
  attachments: CopiedAttachment[];
  /** Things skipped on purpose (a referrer about something else, a non-distributable layer). */
  warnings: string[];
}
