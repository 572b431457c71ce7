/** AdmissionReview bodies as the API server sends them, and an HTTPS client that trusts the test CA. */
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface ReviewOptions {
  kind: { group: string; version: string; kind: string };
  object?: unknown;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  subResource?: string;
  namespace?: string;
  name?: string;
  username?: string;
  oldObject?: unknown;
}

export function review(options: ReviewOptions): { uid: string; body: object } {
  const uid = randomUUID();
  const body = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: options.kind,
      resource: { group: options.kind.group, version: options.kind.version, resource: `${options.kind.kind.toLowerCase()}s` },
      ...(options.subResource !== undefined ? { subResource: options.subResource } : {}),
      name: options.name ?? 'web',
      namespace: options.namespace ?? 'team-a',
      operation: options.operation ?? 'CREATE',
      userInfo: { username: options.username ?? 'alice@example.com', groups: ['system:authenticated'] },
      ...(options.object !== undefined ? { object: options.object } : {}),
      ...(options.oldObject !== undefined ? { oldObject: options.oldObject } : {}),
      dryRun: false,
    },
  };
  return { uid, body };
}

export type Containers = { name: string; image: string }[];

export interface PodSpecLists {
  containers?: Containers;
  initContainers?: Containers;
  ephemeralContainers?: Containers;
}

export function podSpec(lists: PodSpecLists): Record<string, unknown> {
  return { ...lists };
}

export const POD = { group: '', version: 'v1', kind: 'Pod' };

export function pod(lists: PodSpecLists, metadata: Record<string, unknown> = {}): object {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'team-a', ...metadata }, spec: podSpec(lists) };
}

export interface HttpsResult {
  status: number;
  text: string;
  /** The server certificate's SHA-256 fingerprint. */
  fingerprint: string;
}

/** POSTs (or sends `method`) over a fresh TLS connection, trusting only `ca`; `chunked` sends no Content-Length. */
export function send(url: string, ca: Buffer, body: Buffer | string | undefined, method = 'POST', chunked = false): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const length: Record<string, string | number> = body === undefined ? {} : chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': Buffer.byteLength(body) };
    const req = request(url, { method, ca, agent: false, headers: body !== undefined ? { 'content-type': 'application/json', ...length } : {} }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), fingerprint }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface ReviewAnswer {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  patchType?: string;
  patch?: string;
  warnings?: string[];
}

/** Sends a review and returns the AdmissionReview response (failing the test unless HTTP 200 and the same uid). */
export async function admit(url: string, ca: Buffer, review: { uid: string; body: object }): Promise<ReviewAnswer & { ops: { op: string; path: string; value: string }[] }> {
  const result = await send(url, ca, JSON.stringify(review.body));
  if (result.status !== 200) throw new Error(`webhook answered ${result.status}: ${result.text}`);
  const doc = JSON.parse(result.text) as { apiVersion: string; kind: string; response: ReviewAnswer };
  if (doc.apiVersion !== 'admission.k8s.io/v1' || doc.kind !== 'AdmissionReview') throw new Error(`not an AdmissionReview: ${result.text.slice(0, 200)}`);
  if (doc.response.uid !== review.uid) throw new Error(`uid ${doc.response.uid} is not the request's ${review.uid}`);
  const ops = doc.response.patch !== undefined ? (JSON.parse(Buffer.from(doc.response.patch, 'base64').toString('utf8')) as { op: string; path: string; value: string }[]) : [];
  return { ...doc.response, ops };
}

/** Applies `replace` operations of a JSONPatch to a copy of `object` (what the API server does with the answer). */
export function applyPatch<T>(object: T, ops: { op: string; path: string; value: string }[]): T {
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const { op, path, value } of ops) {
    if (op !== 'replace') throw new Error(`unexpected op ${op}`);
    const keys = path.split('/').slice(1);
    let at: Record<string, unknown> = copy;
    for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
    const last = keys.at(-1)!;
    if (!(last in at)) throw new Error(`replace of a missing ${path}`);
    at[last] = value;
  }
  return copy as T;
}
