/**
 * The AdmissionReview (admission.k8s.io/v1) the API server sends, read strictly: a body that is not one is refused
 * with a message (HTTP 400), never answered with an allow.
 */

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** The parts of an AdmissionRequest the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  /** The kind of `object` (for a subresource: the kind the subresource takes, e.g. Scale, or Pod for ephemeralcontainers). */
  kind: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  /** Who is asking (request.userInfo.username); absent when the API server sent none. */
  username?: string;
  object?: unknown;
  dryRun: boolean;
}

/** A body that is not an AdmissionReview this webhook can answer: HTTP 400 with `message`. */
export class ReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReviewError';
  }
}

/**
 * A request this webhook can answer but whose content it cannot read (a missing object, an unknown operation):
 * answered with allowed:false and `message`, since the uid is known.
 */
export class ReviewRefusal extends Error {
  constructor(
    readonly uid: string,
    message: string,
  ) {
    super(message);
    this.name = 'ReviewRefusal';
  }
}

const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];
const API_VERSION = 'admission.k8s.io/v1';
/** The API server's uids are UUIDs; anything much longer is not one of its reviews. */
const MAX_UID = 128;
const NAME_MAX = 253;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortText(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined;
}

/** Untrusted text in a message: quoted, cut short. */
export function quoted(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** Parses the body of POST /mutate or /validate. Throws ReviewError (HTTP 400) or ReviewRefusal (allowed: false). */
export function parseAdmissionReview(body: Buffer): AdmissionRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ReviewError(`the body is not JSON (${(error as Error).message.slice(0, 120)}); the webhook takes an admission.k8s.io/v1 AdmissionReview`);
  }
  if (!isRecord(doc)) throw new ReviewError('the body is not a JSON object; the webhook takes an admission.k8s.io/v1 AdmissionReview');
  if (doc.apiVersion !== API_VERSION) {
    throw new ReviewError(`apiVersion ${quoted(doc.apiVersion)} is not ${API_VERSION}; set admissionReviewVersions: ["v1"] in the webhook configuration`);
  }
  if (doc.kind !== 'AdmissionReview') throw new ReviewError(`kind ${quoted(doc.kind)} is not AdmissionReview`);
  const request = doc.request;
  if (!isRecord(request)) throw new ReviewError('the AdmissionReview has no request object');
  const uid = request.uid;
  if (typeof uid !== 'string' || uid.length === 0 || uid.length > MAX_UID || /[^\x21-\x7e]/.test(uid)) {
    throw new ReviewError('request.uid is missing or not a uid (1 to 128 printable characters); the API server always sends one');
  }
  const kind = request.kind;
  if (!isRecord(kind) || typeof kind.kind !== 'string' || typeof kind.group !== 'string' || typeof kind.version !== 'string') {
    throw new ReviewRefusal(uid, 'request.kind must be {group, version, kind}; tollgate cannot tell what is being admitted');
  }
  const operation = request.operation;
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation)) {
    throw new ReviewRefusal(uid, `request.operation ${quoted(operation)} is not CREATE, UPDATE, DELETE or CONNECT`);
  }
  const out: AdmissionRequest = { uid, kind: { group: kind.group, version: kind.version, kind: kind.kind }, operation: operation as Operation, dryRun: request.dryRun === true };
  const resource = request.resource;
  if (isRecord(resource) && typeof resource.resource === 'string') {
    out.resource = { group: String(resource.group ?? ''), version: String(resource.version ?? ''), resource: resource.resource };
  }
  const subResource = shortText(request.subResource, 64);
  if (subResource !== undefined) out.subResource = subResource;
  const name = shortText(request.name, NAME_MAX);
  if (name !== undefined) out.name = name;
  const namespace = shortText(request.namespace, NAME_MAX);
  if (namespace !== undefined) out.namespace = namespace;
  const username = isRecord(request.userInfo) ? shortText(request.userInfo.username, 512) : undefined;
  if (username !== undefined) out.username = username;
  if (request.object !== undefined && request.object !== null) out.object = request.object;
  return out;
}
