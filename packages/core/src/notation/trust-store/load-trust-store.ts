import type { X509Certificate } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { NotationTrustStore, NotationTrustStoreType } from '../types.js';
import { readCertificates } from './read-certificates.js';

export const MAX_TRUST_STORE_FILE_BYTES = 1024 * 1024;
const MAX_FILES_PER_STORE = 1000;
const MAX_STORES = 1000;
const TYPES: readonly NotationTrustStoreType[] = ['ca', 'signingAuthority', 'tsa'];
const CERT_EXTENSIONS = ['.pem', '.crt', '.cer'];

/** Named trust stores keyed `type:name` (`ca:acme-rockets`), as a trust policy references them. */
export type NotationTrustStores = Map<string, X509Certificate[]>;

export interface LoadTrustStoreOptions {
  /** Told about things notation warns of (sub-directories and other files that are ignored). */
  onWarning?: (message: string) => void;
}

function invalid(message: string): TollgateError {
  return new TollgateError('INVALID_TRUST_STORE', message);
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw invalid(`cannot read the trust store directory ${dir}: ${(error as Error).message}`);
  }
}

/**
 * Loads a notation trust store directory: `<dir>/x509/{ca,signingAuthority,tsa}/<name>/*.{pem,crt,cer}`. As the
 * Notary Project requires, named stores and certificate files must not be symlinks; sub-directories of a named
 * store are ignored (with a warning). Files are bounded in size and count; every certificate must decode.
 */
export async function loadNotationTrustStore(dir: string, options: LoadTrustStoreOptions = {}): Promise<NotationTrustStores> {
  const warn = options.onWarning ?? (() => {});
  const root = join(dir, 'x509');
  try {
    const info = await lstat(root);
    if (!info.isDirectory()) throw invalid(`${root} is not a directory; a notation trust store holds x509/{ca,signingAuthority,tsa}/<name>/`);
  } catch (error) {
    if (error instanceof TollgateError) throw error;
    throw invalid(`${dir} is not a notation trust store (no x509/ directory); expected x509/{ca,signingAuthority,tsa}/<name>/*.pem`);
  }
  const stores: NotationTrustStores = new Map();
  for (const type of TYPES) {
    const typeDir = join(root, type);
    for (const name of await entries(typeDir)) {
      const storeDir = join(typeDir, name);
      const info = await lstat(storeDir);
      if (info.isSymbolicLink()) throw invalid(`the named store ${storeDir} is a symlink; notation trust stores must not use symlinks`);
      if (!info.isDirectory()) {
        warn(`${storeDir} is not a directory and is ignored`);
        continue;
      }
      if (stores.size === MAX_STORES) throw invalid(`the trust store has more than ${MAX_STORES} named stores`);
      const certificates: X509Certificate[] = [];
      const files = await entries(storeDir);
      if (files.length > MAX_FILES_PER_STORE) throw invalid(`the named store ${storeDir} has more than ${MAX_FILES_PER_STORE} entries`);
      for (const file of files) {
        const path = join(storeDir, file);
        const fileInfo = await lstat(path);
        if (fileInfo.isSymbolicLink()) throw invalid(`${path} is a symlink; notation trust stores must not use symlinks`);
        if (fileInfo.isDirectory()) {
          warn(`${path} is a sub-directory of a named store; its certificates are ignored`);
          continue;
        }
        if (!fileInfo.isFile() || !CERT_EXTENSIONS.some((ext) => file.toLowerCase().endsWith(ext))) {
          warn(`${path} is not a .pem, .crt or .cer file and is ignored`);
          continue;
        }
        if (fileInfo.size > MAX_TRUST_STORE_FILE_BYTES) throw invalid(`${path} is larger than ${MAX_TRUST_STORE_FILE_BYTES} bytes; a trust store file holds a few certificates`);
        const bytes = await readFile(path);
        if (bytes.length > MAX_TRUST_STORE_FILE_BYTES) throw invalid(`${path} is larger than ${MAX_TRUST_STORE_FILE_BYTES} bytes`);
        certificates.push(...readCertificates(bytes, path));
      }
      stores.set(`${type}:${name}`, certificates);
    }
  }
  return stores;
}

/**
 * The trust anchors a trust policy statement names (`["ca:acme", "tsa:stamps"]`), grouped by type. A store the
 * policy names that does not exist or holds no certificate is an error, as in notation.
 */
export function trustStoreFor(stores: NotationTrustStores, references: readonly string[]): NotationTrustStore {
  const result: NotationTrustStore = { ca: [], signingAuthority: [], tsa: [] };
  for (const reference of references) {
    const [type] = reference.split(':') as [NotationTrustStoreType];
    const certificates = stores.get(reference);
    if (certificates === undefined) throw invalid(`the trust policy names the trust store "${reference}", which does not exist; create x509/${reference.replace(':', '/')}/ with its certificates`);
    if (certificates.length === 0) throw invalid(`the trust store "${reference}" holds no certificate; add the root certificate(s) to it`);
    if (!TYPES.includes(type)) throw invalid(`"${reference}" is not a {ca|signingAuthority|tsa}:<name> reference`);
    result[type].push(...certificates);
  }
  return result;
}
