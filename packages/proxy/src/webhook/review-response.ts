/** The AdmissionReview the webhook answers with: the request's uid, allowed or not, a JSONPatch, warnings. */

export interface JsonPatchOp {
  op: 'replace';
  path: string;
  value: string;
}

export interface ReviewResult {
  allowed: boolean;
  /** Why it was refused (shown to whoever applied the object). */
  message?: string;
  /** HTTP-like status code of a refusal: 403 for a policy refusal, 400 for a review tollgate cannot read. */
  code?: number;
  patch?: JsonPatchOp[];
  warnings?: string[];
}

/** kubectl prints the whole message; past this the list of problems is cut (the audit trail has all of them). */
const MAX_MESSAGE = 4000;
/** The API server may truncate longer warnings and drops warnings past a total size. */
const MAX_WARNING = 256;
const MAX_WARNINGS = 20;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function reviewResponse(uid: string, result: ReviewResult): object {
  const response: Record<string, unknown> = { uid, allowed: result.allowed };
  if (!result.allowed) {
    response.status = { code: result.code ?? 403, reason: result.code === 400 ? 'BadRequest' : 'Forbidden', message: cut(result.message ?? 'refused by tollgate', MAX_MESSAGE) };
  }
  if (result.allowed && result.patch !== undefined && result.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
  }
  if (result.warnings !== undefined && result.warnings.length > 0) {
    const warnings = result.warnings.slice(0, MAX_WARNINGS).map((w) => cut(w, MAX_WARNING));
    if (result.warnings.length > MAX_WARNINGS) warnings.push(`… and ${result.warnings.length - MAX_WARNINGS} more warnings (see tollgate audit)`);
    response.warnings = warnings;
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
