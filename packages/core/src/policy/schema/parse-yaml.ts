import type { Node } from 'yaml';
import type { PolicyProblem } from './problems.js';
import { yamlLibrary } from './yaml-library.js';

/** A policy file larger than this is refused before parsing. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** Nesting deeper than this is refused: no policy needs it, and it bounds every recursive walk. */
const MAX_DEPTH = 32;

export interface ParsedYaml {
  value?: unknown;
  problems: PolicyProblem[];
}

/**
 * Parses a policy file strictly: YAML 1.2 core schema (so `yes`/`no`/`on` stay strings), one document, duplicate
 * keys are errors, no aliases or anchors (no entity expansion), no custom tags, no non-string keys, every parser
 * warning is an error. Problems carry `line:column` in their path.
 */
export function parsePolicyYaml(bytes: Uint8Array): ParsedYaml {
  if (bytes.byteLength > MAX_POLICY_BYTES) {
    return { problems: [{ path: '$', message: `the policy file is ${bytes.byteLength} bytes, over the ${MAX_POLICY_BYTES}-byte limit` }] };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return { problems: [{ path: '$', message: 'the policy file is not valid UTF-8' }] };
  }
  const { LineCounter, parseDocument } = yamlLibrary();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.2', schema: 'core', uniqueKeys: true, strict: true, prettyErrors: false, lineCounter, stringKeys: false });
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return '$';
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}:${col}`;
  };
  const problems: PolicyProblem[] = [...doc.errors, ...doc.warnings].map((e) => ({ path: at(e.pos?.[0]), message: oneLine(e.message) }));
  if (problems.length > 0) return { problems };
  if (doc.contents === null) return { problems: [{ path: '$', message: 'the policy file is empty' }] };
  checkNodes(doc.contents, 0, problems, at);
  if (problems.length > 0) return { problems };
  try {
    return { value: doc.toJS({ maxAliasCount: 0 }), problems };
  } catch (error) {
    return { problems: [{ path: '$', message: oneLine(error instanceof Error ? error.message : String(error)) }] };
  }
}

function checkNodes(node: Node | null, depth: number, problems: PolicyProblem[], at: (offset: number | undefined) => string): void {
  if (node === null) return;
  const where = at(node.range?.[0]);
  if (depth > MAX_DEPTH) {
    problems.push({ path: where, message: `nested more than ${MAX_DEPTH} levels deep` });
    return;
  }
  if (node.anchor !== undefined) problems.push({ path: where, message: 'anchors and aliases are not allowed in a policy; write the value out' });
  if (node.tag !== undefined && !node.tag.startsWith('tag:yaml.org,2002:')) {
    problems.push({ path: where, message: `the tag ${node.tag} is not allowed in a policy` });
  }
  const { isMap, isScalar, isSeq } = yamlLibrary();
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (!isScalar(key) || typeof key.value !== 'string') {
        problems.push({ path: at((key as Node | null)?.range?.[0] ?? node.range?.[0]), message: 'every key must be a plain string' });
        continue;
      }
      checkNodes(pair.value as Node | null, depth + 1, problems, at);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) checkNodes(item as Node | null, depth + 1, problems, at);
  } else if (!isScalar(node)) {
    problems.push({ path: where, message: 'aliases are not allowed in a policy; write the value out' });
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
