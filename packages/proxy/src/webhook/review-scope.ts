import { ReviewRefusal, type AdmissionRequest } from './admission-review.js';
import { imageSlots, ObjectShapeError, POD_BEARING_KINDS, podSpecPath, type ImageSlot } from './pod-images.js';

/** What a review has to look at: nothing (and why), or these images. */
export type ReviewScope = { skip: string } | { slots: ImageSlot[] };

/** Subresources that never change an image: admitted without looking. */
const IMAGELESS_SUBRESOURCES: ReadonlyMap<string, string> = new Map([
  ['status', 'a status update changes no image'],
  ['scale', 'a /scale update changes no image'],
]);

/**
 * Decides what a review evaluates. DELETE, CONNECT, `status` and `/scale` are admitted without looking; every
 * other operation on a pod-bearing kind is evaluated (an object with a deletionTimestamp too: finalizers can keep
 * it writable); a subresource whose body is not a pod-bearing kind (Eviction, Binding) only acts on an object whose
 * images were admitted when it was written. A main resource of any other kind is refused: the webhook was
 * registered for something it cannot read, and letting it through unread would not be failing closed.
 */
export function reviewScope(request: AdmissionRequest): ReviewScope {
  if (request.operation === 'DELETE') return { skip: 'DELETE admits no image' };
  if (request.operation === 'CONNECT') return { skip: 'CONNECT (exec, attach, port-forward) starts no image' };
  const sub = request.subResource !== undefined ? IMAGELESS_SUBRESOURCES.get(request.subResource) : undefined;
  if (sub !== undefined) return { skip: sub };
  const { group, kind } = request.kind;
  const path = podSpecPath(group, kind);
  if (path === undefined) {
    if (request.subResource !== undefined) return { skip: `the ${request.subResource} subresource (${kind}) carries no pod spec` };
    throw new ReviewRefusal(request.uid, `tollgate's webhook reads images from ${POD_BEARING_KINDS} (and the pods/ephemeralcontainers subresource); ${group === '' ? '' : `${group}/`}${kind.slice(0, 63)} is not one of them: remove it from the webhook configuration's rules`);
  }
  if (request.object === undefined) throw new ReviewRefusal(request.uid, `the ${request.operation} review carries no object; tollgate cannot read its images`);
  try {
    return { slots: imageSlots(request.object, path) };
  } catch (error) {
    if (error instanceof ObjectShapeError) throw new ReviewRefusal(request.uid, error.message);
    throw error;
  }
}
