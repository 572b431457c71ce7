import picomatch from 'picomatch';
import type { AccessRule } from '../config/types.js';

/**
 * Per-repository access: with no rules every authenticated client may pull everything; with rules, a user may
 * pull `<upstream>/<repository>` only when a rule's glob matches it and the rule names the user (or `'*'`).
 */
export class AccessRules {
  private readonly rules: { match: (key: string) => boolean; users: Set<string> | '*' }[] | undefined;

  constructor(rules: AccessRule[] | undefined) {
    this.rules = rules?.map((r) => ({ match: picomatch(r.repositories, { dot: true }), users: r.users === '*' ? '*' : new Set(r.users) }));
  }

  allows(identity: string, upstream: string, repository: string): boolean {
    if (this.rules === undefined) return true;
    const key = `${upstream}/${repository}`;
    return this.rules.some((r) => (r.users === '*' || r.users.has(identity)) && r.match(key));
  }
}
