import type { Gate } from './types.js';

/** Admits everything: no verification at all. For tests and explicitly configured `gate: allow-all` only. */
export const allowAllGate: Gate = {
  revision: 'allow-all',
  evaluate: () => Promise.resolve({ decision: 'allow', rule: 'allow-all', reasons: ['the allow-all gate admits everything (no verification)'], policyRevision: 'allow-all' }),
};
