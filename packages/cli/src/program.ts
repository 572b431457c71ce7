import type { Command } from 'commander';
import { demoCommand } from './commands/demo.js';
import { digestCommand } from './commands/digest.js';
import { inspectCommand } from './commands/inspect.js';
import { validateCommand } from './commands/validate.js';
import { createRootProgram } from './root-program.js';
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
import { webhookCommand } from './commands/webhook.js';

/** Every command, in the order of the help. */
import { copyCommand } from './commands/copy.js';
export function createProgram(): Command {
  const program = createRootProgram();
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
  program.addCommand(webhookCommand());
  return program;
}
  program.addCommand(copyCommand());
