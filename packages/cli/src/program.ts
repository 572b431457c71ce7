import { Command } from 'commander';
import { demoCommand } from './commands/demo.js';
import { digestCommand } from './commands/digest.js';
import { inspectCommand } from './commands/inspect.js';
import { validateCommand } from './commands/validate.js';
import { VERSION } from './version.js';
import { generateKeyPairCommand } from './commands/generate-key-pair.js';
import { publicKeyCommand } from './commands/public-key.js';
import { verifyBlobCommand } from './commands/verify-blob.js';
import { signBlobCommand } from './commands/sign-blob.js';
import { diffCommand } from './commands/diff.js';
import { policyCommand } from './commands/policy.js';
import { proxyCommand } from './commands/proxy.js';
import { signCommand } from './commands/sign.js';
import { attestCommand } from './commands/attest.js';
import { verifyCommand } from './commands/verify.js';
import { verifyAttestationCommand } from './commands/verify-attestation.js';
import { notationCommand } from './commands/notation.js';
import { auditCommand } from './commands/audit.js';

export function createProgram(): Command {
  const program = new Command('tollgate')
    .description('container image integrity: know exactly what is in an image, prove who made it, block everything else')
    .version(VERSION, '-v, --version', 'print the tollgate version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Image references (skopeo transports):
  [docker://]host/repo[:tag][@digest]   a registry (loopback registries may be plain HTTP)
  oci:<dir>[:<tag>]                     an OCI image layout directory
  docker-archive:<file>[:<name:tag>]    a \`docker save\` archive

Exit status: 0 success, 1 a check failed (mismatch, denied, unverified), 2 usage or operational error.
Docs: docs/ in the tollgate repository.`);
  program.addCommand(inspectCommand());
  program.addCommand(validateCommand());
  program.addCommand(digestCommand());
  program.addCommand(demoCommand());
  program.addCommand(verifyBlobCommand());
  program.addCommand(generateKeyPairCommand());
  program.addCommand(publicKeyCommand());
  program.addCommand(signBlobCommand());
  program.addCommand(diffCommand());
  program.addCommand(policyCommand());
  program.addCommand(proxyCommand());
  program.addCommand(signCommand());
  program.addCommand(attestCommand());
  program.addCommand(verifyCommand());
  program.addCommand(verifyAttestationCommand());
  program.addCommand(notationCommand());
  program.addCommand(auditCommand());
  return program;
}
