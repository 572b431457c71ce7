import { Command } from 'commander';
import { keyDetails, publicVerificationKey } from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';
import { loadPrivateKeyFile } from '../keys/load-private-key-file.js';

interface PublicKeyFlags {
  key: string;
  json: boolean;
}

export function publicKeyCommand(): Command {
  const command = new Command('public-key')
    .description('print the public key (SPKI PEM, as cosign.pub) of a private key file')
    .requiredOption('--key <file>', 'private key: cosign encrypted key, PKCS#8 or EC PEM, or a private JWK')
    .addHelpText('after', `
Password for an encrypted key: TOLLGATE_PASSWORD, else COSIGN_PASSWORD (empty allowed); without either it is
asked on the terminal.

Examples:
  TOLLGATE_PASSWORD=… tollgate public-key --key cosign.key > cosign.pub
  tollgate public-key --key cosign.key --json`);
  addJsonOption(command);
  return command.action(withStatus(async (flags: PublicKeyFlags) => {
    const key = await loadPrivateKeyFile(flags.key);
    const pub = publicVerificationKey(key);
    if (flags.json) writeJson({ publicKey: pub.pem, algorithm: pub.algorithm, keyDetails: keyDetails(pub), keyId: pub.keyId });
    else writeOut(pub.pem);
    return ExitCode.Ok;
  }));
}
