import type { NotationAction, NotationCheck, NotationCheckResult, NotationLevel, NotationResult } from '../types.js';

/** Collects check outcomes; a failure is enforced (stops verification) or logged (a warning) by the check's action. */
export class ResultBuilder {
  readonly checks: NotationCheckResult[] = [];
  readonly reasons: string[] = [];
  readonly warnings: string[] = [];
  failed = false;

  constructor(
    readonly level: NotationLevel,
    readonly actions: Record<NotationCheck, NotationAction>,
  ) {}

  pass(check: NotationCheck, reason?: string): void {
    this.checks.push({ check, action: this.actions[check], outcome: 'passed', ...(reason !== undefined ? { reason } : {}) });
  }

  skip(check: NotationCheck, reason: string): void {
    this.checks.push({ check, action: this.actions[check], outcome: 'skipped', reason });
  }

  /** Records a failure; returns true when it was enforced (verification must stop). */
  fail(check: NotationCheck, reason: string, outcome: 'failed' | 'not-performed' = 'failed'): boolean {
    const action = this.actions[check];
    this.checks.push({ check, action, outcome, reason });
    if (action === 'enforce') {
      this.failed = true;
      this.reasons.push(`${check}: ${reason}`);
      return true;
    }
    this.warnings.push(`${check} (${action === 'log' ? 'logged' : 'skipped'} at ${this.level}): ${reason}`);
    return false;
  }

  result(signer?: NotationResult['signer']): NotationResult {
    const result: NotationResult = { ok: !this.failed, level: this.level, checks: this.checks, reasons: this.reasons, warnings: this.warnings };
    if (signer !== undefined) result.signer = signer;
    return result;
  }
}
