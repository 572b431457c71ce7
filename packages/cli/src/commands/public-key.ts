import { Command } from 'commander';
import { keyDetails, publicVerificationKey } from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';
import { loadSigningKey } from '../keys/load-signing-key.js';

interface PublicKeyFlags {
  key: string;
  json: boolean;
}

export function publicKeyCommand(): Command {
  const command = new Command('public-key')
    .description('print the public key (SPKI PEM, as cosign.pub) of a private key file or a PKCS#11 token key')
    .requiredOption('--key <file|pkcs11:uri>', 'private key: cosign encrypted key, PKCS#8 or EC PEM, a private JWK, or pkcs11:token=…;object=…?module-path=…')
    .addHelpText('after', `
Password for an encrypted key: TOLLGATE_PASSWORD, else COSIGN_PASSWORD (empty allowed); without either it is
asked on the terminal. A PKCS#11 key (RFC 7512 URI, as cosign writes it) takes its PIN from pin-value= or
pin-source=file:<path> in the URI, else TOLLGATE_PKCS11_PIN or COSIGN_PKCS11_PIN, else the terminal; the module from
module-path= or COSIGN_PKCS11_MODULE_PATH. Cloud KMS URIs (awskms://, gcpkms://, azurekms://, hashivault://) are not
supported.

Examples:
  TOLLGATE_PASSWORD=… tollgate public-key --key cosign.key > cosign.pub
  tollgate public-key --key cosign.key --json
  COSIGN_PKCS11_PIN=… tollgate public-key --key 'pkcs11:token=release;object=signing?module-path=/usr/lib/softhsm/libsofthsm2.so'`);
  addJsonOption(command);
  return command.action(withStatus(async (flags: PublicKeyFlags) => {
    const key = await loadSigningKey(flags.key);
    const pub = publicVerificationKey('privateKey' in key ? key : key.publicKey);
    if (!('privateKey' in key)) await key.close();
    if (flags.json) writeJson({ publicKey: pub.pem, algorithm: pub.algorithm, keyDetails: keyDetails(pub), keyId: pub.keyId });
    else writeOut(pub.pem);
    return ExitCode.Ok;
  }));
}
