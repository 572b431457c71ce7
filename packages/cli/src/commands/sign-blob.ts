import { Command } from 'commander';
import {
  MAX_KEY_INPUT_BYTES,
  PUBLIC_GOOD_FULCIO_URL,
  PUBLIC_GOOD_REKOR_URL,
  readInputFile,
  readPrivateKey,
  signBlob,
  TollgateError,
  writeFileAtomic,
  type SignBlobWitnessOptions,
} from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { writeErr, writeJson } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface SignBlobFlags {
  bundle: string;
  key?: string;
  identityToken?: string;
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl?: string;
  tlogUpload: string;
  json: boolean;
}

const MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024;
const MAX_TOKEN_BYTES = 64 * 1024;

export function signBlobCommand(): Command {
  const command = new Command('sign-blob')
    .description('sign a file and write a Sigstore v0.3 bundle, like cosign sign-blob --bundle (with a cosign key, or keyless with Fulcio)')
    .argument('<file>', 'the file to sign')
    .requiredOption('--bundle <file>', 'where to write the Sigstore bundle (JSON)')
    .option('--key <file>', 'private key: a cosign key (password from TOLLGATE_PASSWORD or COSIGN_PASSWORD), PKCS#8 or SEC1 PEM; ECDSA P-256')
    .option('--identity-token <jwt|@file>', 'keyless: the OIDC identity token, or @path of a file holding it')
    .option('--fulcio-url <url>', 'keyless: Fulcio to get the signing certificate from', PUBLIC_GOOD_FULCIO_URL)
    .option('--rekor-url <url>', 'Rekor (v1 API) to log the signature in', PUBLIC_GOOD_REKOR_URL)
    .option('--tsa-url <url>', 'RFC 3161 timestamp authority to timestamp the signature with (e.g. …/api/v1/timestamp)')
    .option('--tlog-upload <bool>', 'log the signature in Rekor (true/false)', 'true')
    .addHelpText('after', `
Exit status: 0 the bundle was written, 2 usage error, unreadable key or file, or a service failed.

Examples:
  COSIGN_PASSWORD=… tollgate sign-blob a.txt --bundle a.txt.sigstore.json --key cosign.key --tlog-upload=false
  tollgate sign-blob a.txt --bundle a.sigstore.json --identity-token @token.jwt \\
    --fulcio-url http://127.0.0.1:5555 --rekor-url http://127.0.0.1:3000 --tsa-url http://127.0.0.1:3001/api/v1/timestamp`);
  addJsonOption(command);
  return command.action(withStatus(async (file: string, flags: SignBlobFlags) => {
    if (flags.tlogUpload !== 'true' && flags.tlogUpload !== 'false') throw new TollgateError('USAGE', '--tlog-upload must be true or false');
    if ((flags.key === undefined) === (flags.identityToken === undefined)) {
      throw new TollgateError('USAGE', 'give --key <cosign.key> to sign with a key, or --identity-token to sign keyless (one of them)');
    }
    const witness: SignBlobWitnessOptions = { rekorUrl: flags.rekorUrl, tlogUpload: flags.tlogUpload === 'true', tsaUrl: flags.tsaUrl };
    const artifact = await readInputFile(file, MAX_ARTIFACT_BYTES, 'artifact');
    let bundle;
    if (flags.key !== undefined) {
      const password = process.env.TOLLGATE_PASSWORD ?? process.env.COSIGN_PASSWORD;
      const key = await readPrivateKey(await readInputFile(flags.key, MAX_KEY_INPUT_BYTES, 'private key'), password);
      bundle = await signBlob(artifact, { key, ...witness });
    } else {
      const identityToken = await tokenFrom(flags.identityToken!);
      bundle = await signBlob(artifact, { identityToken, fulcioUrl: flags.fulcioUrl, ...witness });
    }
    await writeFileAtomic(flags.bundle, `${JSON.stringify(bundle)}\n`);
    if (flags.json) writeJson({ artifact: file, bundle: flags.bundle, mediaType: bundle.mediaType, tlogEntries: bundle.verificationMaterial.tlogEntries.length });
    else writeErr(`Wrote bundle to ${flags.bundle}`);
    return ExitCode.Ok;
  }));
}

async function tokenFrom(value: string): Promise<string> {
  const token = value.startsWith('@') ? (await readInputFile(value.slice(1), MAX_TOKEN_BYTES, 'identity token')).toString('utf8').trim() : value.trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) throw new TollgateError('USAGE', 'the identity token is not a JWT (three base64url parts separated by dots)');
  return token;
}
