type Nacl = typeof import('tweetnacl');

let nacl: Promise<Nacl> | undefined;

/** tweetnacl (~20 ms to load) only opens and seals encrypted cosign keys: loaded the first time one is. */
export function loadNacl(): Promise<Nacl> {
  nacl ??= import('tweetnacl').then((module) => module.default);
  return nacl;
}
