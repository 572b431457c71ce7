import { Command } from 'commander';
import { readInputFile, signBlob, writeFileAtomic } from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { addSignerOptions, signingFrom, type SignerFlags } from '../options/signing-options.js';
import { writeErr, writeJson } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface SignBlobFlags extends SignerFlags {
  bundle: string;
  json: boolean;
}

const MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024;

export function signBlobCommand(): Command {
  const command = new Command('sign-blob')
    .description('sign a file and write a Sigstore v0.3 bundle, like cosign sign-blob --bundle (with a cosign key, or keyless with Fulcio)')
    .argument('<file>', 'the file to sign')
    .requiredOption('--bundle <file>', 'where to write the Sigstore bundle (JSON)')
    .addHelpText('after', `
Keyless (no --key): the identity token is --identity-token, else SIGSTORE_ID_TOKEN, else the GitHub Actions
token (audience sigstore); the source used is printed. See "CI" in docs/signing.md.

Exit status: 0 the bundle was written, 2 usage error, unreadable key or file, or a service failed.

Examples:
  COSIGN_PASSWORD=… tollgate sign-blob a.txt --bundle a.txt.sigstore.json --key cosign.key --tlog-upload=false
  COSIGN_PKCS11_PIN=… tollgate sign-blob a.txt --bundle a.sigstore.json --key 'pkcs11:token=release;object=signing?module-path=/usr/lib/softhsm/libsofthsm2.so'
  tollgate sign-blob a.txt --bundle a.sigstore.json --identity-token @token.jwt \\
    --fulcio-url http://127.0.0.1:5555 --rekor-url http://127.0.0.1:3000 --tsa-url http://127.0.0.1:3001/api/v1/timestamp`);
  addSignerOptions(command);
  addJsonOption(command);
  return command.action(withStatus(async (file: string, flags: SignBlobFlags) => {
    const signing = await signingFrom(flags);
    const artifact = await readInputFile(file, MAX_ARTIFACT_BYTES, 'artifact');
    const bundle = await signBlob(artifact, signing);
    await writeFileAtomic(flags.bundle, `${JSON.stringify(bundle)}\n`);
    if (flags.json) writeJson({ artifact: file, bundle: flags.bundle, mediaType: bundle.mediaType, tlogEntries: bundle.verificationMaterial.tlogEntries.length, identityTokenSource: signing.identityTokenSource });
    else writeErr(`Wrote bundle to ${flags.bundle}`);
    return ExitCode.Ok;
  }));
}
