import { formatBytes } from '../util/format-bytes.js';
import { TollgateError } from '../errors/tollgate-error.js';
import type { LayerLimits } from './types.js';

export const DEFAULT_LAYER_LIMITS: Readonly<Required<LayerLimits>> = Object.freeze({
  maxUncompressedBytes: 64 * 1024 ** 3,
  maxCompressionRatio: 1000,
  maxEntries: 1_000_000,
  maxPathLength: 4096,
});

/** The compression ratio is only judged once this many bytes have come out, so tiny layers never trip it. */
export const RATIO_CHECK_AFTER_BYTES = 1024 * 1024;

export function resolveLayerLimits(limits: LayerLimits | undefined): Required<LayerLimits> {
  const out = { ...DEFAULT_LAYER_LIMITS };
  for (const key of Object.keys(DEFAULT_LAYER_LIMITS) as (keyof LayerLimits)[]) {
    const value = limits?.[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value > 0)) {
      throw new TollgateError('USAGE', `layer limit ${key} must be a positive number, got ${String(value)}`);
    }
    out[key] = value;
  }
  return out;
}

export { formatBytes };

export function limitError(label: string, what: string, key: keyof LayerLimits, value: number): TollgateError {
  return new TollgateError(
    'SIZE_LIMIT',
    `${label}: ${what} (limits.${key} = ${value}); raise limits.${key} if this layer is expected to be that large`,
  );
}
