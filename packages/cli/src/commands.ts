import type { Command } from 'commander';

/**
 * Each command's module, imported only when that command runs (`tollgate digest …` loads digest's module and what
 * it needs, not the other sixteen and theirs). The names must match the commands' own (test/cli/lazy-commands).
 */
export const COMMAND_MODULES: Readonly<Record<string, () => Promise<Command>>> = {
  inspect: async () => (await import('./commands/inspect.js')).inspectCommand(),
  validate: async () => (await import('./commands/validate.js')).validateCommand(),
  digest: async () => (await import('./commands/digest.js')).digestCommand(),
  demo: async () => (await import('./commands/demo.js')).demoCommand(),
  'verify-blob': async () => (await import('./commands/verify-blob.js')).verifyBlobCommand(),
  'generate-key-pair': async () => (await import('./commands/generate-key-pair.js')).generateKeyPairCommand(),
  'public-key': async () => (await import('./commands/public-key.js')).publicKeyCommand(),
  'sign-blob': async () => (await import('./commands/sign-blob.js')).signBlobCommand(),
  diff: async () => (await import('./commands/diff.js')).diffCommand(),
  policy: async () => (await import('./commands/policy.js')).policyCommand(),
  proxy: async () => (await import('./commands/proxy.js')).proxyCommand(),
  sign: async () => (await import('./commands/sign.js')).signCommand(),
  attest: async () => (await import('./commands/attest.js')).attestCommand(),
  verify: async () => (await import('./commands/verify.js')).verifyCommand(),
  'verify-attestation': async () => (await import('./commands/verify-attestation.js')).verifyAttestationCommand(),
  tree: async () => (await import('./commands/tree.js')).treeCommand(),
  download: async () => (await import('./commands/download.js')).downloadCommand(),
  notation: async () => (await import('./commands/notation.js')).notationCommand(),
  audit: async () => (await import('./commands/audit.js')).auditCommand(),
  webhook: async () => (await import('./commands/webhook.js')).webhookCommand(),
  copy: async () => (await import('./commands/copy.js')).copyCommand(),
};
