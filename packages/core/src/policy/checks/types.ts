/** A path matcher compiled from glob patterns (picomatch, dotfiles included), with the patterns for reports. */
export interface PathMatcher {
  patterns: readonly string[];
  test(path: string): boolean;
}

export interface BaseImage {
  name: string;
  digest?: string;
  diffIDs: readonly string[];
}

/** A rule's `checks`, compiled: sizes in bytes, globs as matchers. */
export interface CompiledChecks {
  nonRootUser?: boolean;
  healthcheck?: boolean;
  noSetuid?: { allow: PathMatcher };
  noSecrets?: { allow: PathMatcher; patterns: PathMatcher };
  maxSize?: number;
  maxLayers?: number;
  baseImages?: readonly BaseImage[];
}

/** What one check concluded. */
export interface CheckOutcome {
  /** `nonRootUser`, `healthcheck`, … as in the policy file. */
  check: string;
  passed: boolean;
  reason: string;
  /** Failed only because the image's blobs could not be read for now (the registry unavailable): undecided. */
  indeterminate?: boolean;
}
