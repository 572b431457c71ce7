import type { NotationAction, NotationCheck, NotationLevel, NotationOverride } from '../types.js';

/** The Notary Project verification levels (trust-store-trust-policy.md): what each does with a failed check. */
export const NOTATION_LEVEL_ACTIONS: Readonly<Record<NotationLevel, Readonly<Record<NotationCheck, NotationAction>>>> = {
  strict: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' },
  permissive: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  audit: { integrity: 'enforce', authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  skip: { integrity: 'skip', authenticity: 'skip', authenticTimestamp: 'skip', expiry: 'skip', revocation: 'skip' },
};

/** The action for each check at a level, with a custom-level override applied (integrity cannot be overridden). */
export function levelActions(level: NotationLevel, override: NotationOverride = {}): Record<NotationCheck, NotationAction> {
  const actions = { ...NOTATION_LEVEL_ACTIONS[level] };
  if (level === 'skip') return actions;
  for (const [check, action] of Object.entries(override) as Array<[keyof NotationOverride, NotationAction | undefined]>) {
    if (action !== undefined) actions[check] = action;
  }
  return actions;
}
