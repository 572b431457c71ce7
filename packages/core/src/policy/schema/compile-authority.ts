import { createHash, X509Certificate } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { MAX_KEY_INPUT_BYTES } from '../../keys/key-input.js';
import { parsePemBlocks } from '../../keys/pem.js';
import { readPublicKey } from '../../keys/read-public-key.js';
import { compileIdentityPolicy } from '../../sigstore/identity-policy.js';
import { childPath, type PolicyProblem } from './problems.js';
import { readFileBounded } from './read-policy-file.js';
import type { Authority, AuthoritySpec } from './types.js';

/** Files a policy reads (keys, certificates), with their digests: part of the policy's revision. */
export interface ReferencedFile {
  path: string;
  sha256: string;
}

export interface CompileContext {
  /** Directory that relative key and certificate paths are read from; undefined for a policy given as bytes. */
  baseDir?: string;
  files: ReferencedFile[];
  errors: PolicyProblem[];
}

async function readReferenced(file: string, ctx: CompileContext, path: string, what: string): Promise<Uint8Array | undefined> {
  if (ctx.baseDir === undefined && !isAbsolute(file)) {
    ctx.errors.push({ path, message: `${what} file ${JSON.stringify(file)} is relative, but the policy was not read from a file; use an absolute path or inline the ${what}` });
    return undefined;
  }
  const full = resolve(ctx.baseDir ?? '/', file);
  try {
    const bytes = await readFileBounded(full, MAX_KEY_INPUT_BYTES, what);
    ctx.files.push({ path: full, sha256: createHash('sha256').update(bytes).digest('hex') });
    return bytes;
  } catch (error) {
    ctx.errors.push({ path, message: `cannot read the ${what}: ${error instanceof Error ? error.message : String(error)}` });
    return undefined;
  }
}

/** Reads and checks one authority's trust material; problems go to ctx.errors and the authority is dropped. */
export async function compileAuthority(spec: AuthoritySpec, path: string, ctx: CompileContext): Promise<Authority | undefined> {
  const before = ctx.errors.length;
  const fail = (at: string, message: string): void => {
    ctx.errors.push({ path: at, message });
  };
  const kind = spec.key ? 'key' : spec.keyless ? 'keyless' : 'notation';
  const authority: Authority = {
    name: spec.name,
    kind,
    path,
    transparencyLog: spec.transparencyLog ?? 'required',
    timestamp: spec.timestamp ?? (kind === 'keyless' ? 'required' : 'optional'),
  };
  if (spec.key) {
    const keyPath = childPath(path, 'key');
    let input: string | Uint8Array | undefined;
    if (spec.key.file !== undefined) input = await readReferenced(spec.key.file, ctx, childPath(keyPath, 'file'), 'public key');
    else if (spec.key.pem !== undefined) input = spec.key.pem;
    else if (spec.key.jwk !== undefined) input = JSON.stringify(spec.key.jwk);
    if (input !== undefined) {
      try {
        authority.key = readPublicKey(input);
      } catch (error) {
        fail(keyPath, `the public key cannot be read: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } else if (spec.keyless) {
    try {
      authority.identity = compileIdentityPolicy(spec.keyless);
      authority.keyless = spec.keyless;
    } catch (error) {
      fail(childPath(path, 'keyless'), error instanceof Error ? error.message : String(error));
    }
  } else if (spec.notation) {
    const notationPath = childPath(path, 'notation');
    if (spec.transparencyLog !== undefined) fail(childPath(path, 'transparencyLog'), 'notation signatures have no transparency log; remove transparencyLog');
    const certificates: X509Certificate[] = [];
    for (const [i, entry] of spec.notation.trustStore.entries()) {
      const at = childPath(childPath(notationPath, 'trustStore'), i);
      const bytes = entry.file !== undefined ? await readReferenced(entry.file, ctx, childPath(at, 'file'), 'certificate') : entry.pem;
      if (bytes === undefined) continue;
      try {
        const text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        const blocks = parsePemBlocks(text, 'the trust store entry').filter((b) => b.label === 'CERTIFICATE');
        if (blocks.length === 0) throw new Error('no CERTIFICATE PEM block');
        for (const block of blocks) {
          certificates.push(new X509Certificate(block.der));
        }
      } catch (error) {
        fail(at, `the certificate cannot be read: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    authority.certificates = certificates;
    authority.notationStoreType = spec.notation.trustStoreType ?? 'ca';
    authority.trustedIdentities = spec.notation.trustedIdentities.map((identity) => identity.replace(/^x509\.subject: */, '').trim());
  }
  return ctx.errors.length === before ? authority : undefined;
}
