import { Command, Option } from 'commander';
import { access } from 'node:fs/promises';
import {
  SUPPORTED_KEY_ALGORITHMS,
  encryptCosignPrivateKey,
  generateKeyPair,
  keyDetails,
  publicVerificationKey,
  type KeyAlgorithm,
} from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';
import { newKeyPassword } from '../keys/password.js';
import { alreadyExists, writeKeyFile } from '../keys/write-key-file.js';

interface GenerateKeyPairFlags {
  outputKeyPrefix: string;
  algorithm: KeyAlgorithm;
  force: boolean;
  json: boolean;
}

export function generateKeyPairCommand(): Command {
  const command = new Command('generate-key-pair')
    .description('generate a signing key pair in cosign\'s format: <prefix>.key (encrypted, mode 0600) and <prefix>.pub (SPKI PEM)')
    .option('--output-key-prefix <prefix>', 'write <prefix>.key and <prefix>.pub', 'cosign')
    .addOption(new Option('--algorithm <algorithm>', 'key algorithm').choices([...SUPPORTED_KEY_ALGORITHMS]).default('ecdsa-p256'))
    .option('--force', 'overwrite existing key files', false)
    .addHelpText('after', `
The private key is encrypted as cosign encrypts it (scrypt N=65536, r=8, p=1 and nacl/secretbox around PKCS#8,
PEM label ENCRYPTED SIGSTORE PRIVATE KEY), so cosign and tollgate read each other's keys.

Password: TOLLGATE_PASSWORD, else COSIGN_PASSWORD; set to the empty string for an empty password. Without
either, it is asked twice on the terminal (no echo); with no terminal the command fails.
Existing files are never overwritten without --force.

Examples:
  tollgate generate-key-pair
  TOLLGATE_PASSWORD=… tollgate generate-key-pair --output-key-prefix release --json
  COSIGN_PASSWORD= tollgate generate-key-pair --algorithm ed25519   # empty password, on purpose`);
  addJsonOption(command);
  return command.action(withStatus(async (flags: GenerateKeyPairFlags) => {
    const keyPath = `${flags.outputKeyPrefix}.key`;
    const pubPath = `${flags.outputKeyPrefix}.pub`;
    if (!flags.force) {
      for (const path of [keyPath, pubPath]) if (await exists(path)) throw alreadyExists(path);
    }
    const password = await newKeyPassword();
    const key = generateKeyPair(flags.algorithm);
    const encrypted = await encryptCosignPrivateKey(key, password);
    const pub = publicVerificationKey(key);
    await writeKeyFile(keyPath, encrypted, 0o600, flags.force);
    await writeKeyFile(pubPath, pub.pem, 0o644, flags.force);
    if (flags.json) {
      writeJson({ privateKey: keyPath, publicKey: pubPath, algorithm: key.algorithm, keyDetails: keyDetails(key), keyId: pub.keyId });
    } else {
      writeOut(`Private key written to ${keyPath}\nPublic key written to ${pubPath}`);
    }
    return ExitCode.Ok;
  }));
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
