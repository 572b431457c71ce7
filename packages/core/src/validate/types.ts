import type { Descriptor } from '../image/types.js';

export type ProblemKind =
  | 'config-digest'
  | 'config-size'
  | 'config-invalid'
  | 'layer-digest'
  | 'layer-size'
  | 'diff-id'
  | 'diff-id-count'
  | 'history-count'
  | 'corrupt-layer'
  | 'unsafe-entry'
  | 'unknown-layer-type'
  | 'foreign-layer'
  | 'layer-unreadable';

/** One thing that does not hold, naming the blob, what was expected and what was found. */
export interface ValidationProblem {
  kind: ProblemKind;
  /** The blob concerned (a digest), or 'manifest' / 'config'. */
  blob: string;
  expected?: string;
  found?: string;
  message: string;
}

export interface LayerValidation {
  index: number;
  descriptor: Descriptor;
  /** What we computed; absent when the layer could not be read. */
  digest?: string;
  size?: number;
  diffID?: string;
  expectedDiffID?: string;
  uncompressedSize?: number;
  fileCount?: number;
  /** True when the file index came from the store and the tar was not parsed again. */
  indexCached?: boolean;
  ok: boolean;
}

export interface ValidationResult {
  ok: boolean;
  manifestDigest: string;
  mediaType: string;
  config: { digest: string; size: number; ok: boolean };
  layers: LayerValidation[];
  problems: ValidationProblem[];
}
