import { createRequire } from 'node:module';

type BundleLibrary = typeof import('@sigstore/bundle');
type CoreLibrary = typeof import('@sigstore/core');
type VerifyLibrary = typeof import('@sigstore/verify');
type ProtobufSpecsLibrary = typeof import('@sigstore/protobuf-specs');

/**
 * The Sigstore verification libraries cost every tollgate command ~60 ms and ~20 MB when imported up front, and
 * most commands (digest, inspect, validate, diff) never touch a bundle. So they load on first use. Synchronously,
 * with require, because parseBundle, loadTrustedRoot and the legacy-rekord check are synchronous public APIs; all
 * four packages are CommonJS, so require returns the very module object that an import would (one instance).
 */
const require = createRequire(import.meta.url);

let bundle: BundleLibrary | undefined;
let core: CoreLibrary | undefined;
let verify: VerifyLibrary | undefined;
let protobufSpecs: ProtobufSpecsLibrary | undefined;

export function sigstoreBundle(): BundleLibrary {
  return (bundle ??= require('@sigstore/bundle') as BundleLibrary);
}

export function sigstoreCore(): CoreLibrary {
  return (core ??= require('@sigstore/core') as CoreLibrary);
}

export function sigstoreVerify(): VerifyLibrary {
  return (verify ??= require('@sigstore/verify') as VerifyLibrary);
}

export function sigstoreProtobufSpecs(): ProtobufSpecsLibrary {
  return (protobufSpecs ??= require('@sigstore/protobuf-specs') as ProtobufSpecsLibrary);
}
