import { createRequire } from 'node:module';

type TarStream = typeof import('tar-stream');

/**
 * tar-stream only writes tars (layers built by our writer, docker-save archives); reading a layer uses our own
 * parser. Required on first use, synchronously because packLayer is a synchronous API; tar-stream is CommonJS,
 * so require returns the very module object that an import would.
 */
const require = createRequire(import.meta.url);

let tarStream: TarStream | undefined;

export function tarStreamLibrary(): TarStream {
  return (tarStream ??= require('tar-stream') as TarStream);
}
