import type { Verdict } from '../gate/types.js';

const MAX_ANNOTATIONS = 16;
const MAX_KEY = 128;
const MAX_VALUE = 512;
/**
 * All annotations of one event together, at most: they come from the upstream and are written with every verdict
 * event (cached ones too), so a hostile image must not be able to grow the audit trail by kilobytes per pull.
 */
const MAX_TOTAL = 2048;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * What a verdict event records besides the decision, so that it can be shown later as it was at decision time:
 * the tag asked for, the manifest's annotations (bounded) and the gate's evidence (every finding, signatures,
 * attestations). Values are kept as the upstream sent them; whoever displays them escapes them.
 */
export function decisionFacts(reference: string, manifest: { bytes: Uint8Array }, verdict: Verdict): Record<string, unknown> {
  const annotations = manifestAnnotations(manifest.bytes);
  return {
    ...(reference.includes(':') ? {} : { tag: reference }),
    ...(annotations !== undefined ? { annotations } : {}),
    ...(verdict.evidence !== undefined ? { evidence: verdict.evidence } : {}),
  };
}

/** The manifest's `annotations` (string values only): at most MAX_ANNOTATIONS, each key and value cut, MAX_TOTAL in all. */
export function manifestAnnotations(bytes: Uint8Array): Record<string, string> | undefined {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  const annotations = (parsed as { annotations?: unknown } | null)?.annotations;
  if (typeof annotations !== 'object' || annotations === null || Array.isArray(annotations)) return undefined;
  const out: Record<string, string> = {};
  let total = 0;
  for (const [key, value] of Object.entries(annotations as Record<string, unknown>).slice(0, MAX_ANNOTATIONS)) {
    if (typeof value !== 'string') continue;
    const k = key.slice(0, MAX_KEY);
    const room = MAX_TOTAL - total - k.length;
    if (room < 0) break;
    const v = value.slice(0, Math.min(MAX_VALUE, room));
    out[k] = v;
    total += k.length + v.length;
    if (total >= MAX_TOTAL) break;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
