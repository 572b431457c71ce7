import { CREDENTIAL_FILE_NAMES, PRIVATE_KEY_NAMES } from '../../diff/security-flags.js';

/** What `noSecrets` looks for unless a rule adds more: private keys and credential files by name (the diff engine's lists). */
export const DEFAULT_SECRET_PATTERNS: readonly string[] = [...PRIVATE_KEY_NAMES, ...CREDENTIAL_FILE_NAMES, '**/.env.*'];
