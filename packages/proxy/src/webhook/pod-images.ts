/**
 * Where a pod-bearing object keeps its images: the pod spec of a Pod, the pod template of the workload kinds, the
 * nested template of a CronJob. Each image comes with the JSON pointer of its `image` field, for the patch.
 */

/** One container's image and where it sits in the object. */
export interface ImageSlot {
  /** JSON pointer to the `image` field, e.g. /spec/template/spec/initContainers/0/image. */
  pointer: string;
  image: string;
  /** `containers`, `initContainers` or `ephemeralContainers`, and the container's name, for messages. */
  list: ContainerList;
  container: string;
}

export type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

const LISTS: readonly ContainerList[] = ['containers', 'initContainers', 'ephemeralContainers'];

/** More images than any pod has; past it the review is refused rather than evaluated without end. */
export const MAX_IMAGES = 1000;

/**
 * The path from the object to its pod spec, per API group and kind. Versions are not compared: every served version
 * of these kinds (batch/v1beta1 CronJob included) keeps the spec at the same place.
 */
const POD_SPEC_PATHS: ReadonlyMap<string, readonly string[]> = new Map([
  ['/Pod', ['spec']],
  ['/PodTemplate', ['template', 'spec']],
  ['/ReplicationController', ['spec', 'template', 'spec']],
  ['apps/Deployment', ['spec', 'template', 'spec']],
  ['apps/ReplicaSet', ['spec', 'template', 'spec']],
  ['apps/StatefulSet', ['spec', 'template', 'spec']],
  ['apps/DaemonSet', ['spec', 'template', 'spec']],
  ['batch/Job', ['spec', 'template', 'spec']],
  ['batch/CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
  // The pods/ephemeralcontainers subresource before Kubernetes 1.25 sent this kind: the lists at its top level.
  ['/EphemeralContainers', []],
]);

/** The kinds the webhook reads, for messages. */
export const POD_BEARING_KINDS = 'Pod, PodTemplate, ReplicationController, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob';

export function podSpecPath(group: string, kind: string): readonly string[] | undefined {
  return POD_SPEC_PATHS.get(`${group}/${kind}`);
}

export class ObjectShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectShapeError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every image of the object, in the order of its lists. A missing pod spec holds no images (the object runs
 * nothing); a spec or list of the wrong type, or a container without an image, is an ObjectShapeError: the
 * webhook cannot vouch for what it cannot read.
 */
export function imageSlots(object: unknown, path: readonly string[]): ImageSlot[] {
  let spec: unknown = object;
  for (const key of path) {
    if (spec === undefined || spec === null) return [];
    if (!isRecord(spec)) throw new ObjectShapeError(`the object's ${path.join('.')} is not a mapping; tollgate cannot read its images`);
    spec = spec[key];
  }
  if (spec === undefined || spec === null) return [];
  if (!isRecord(spec)) throw new ObjectShapeError(`the object's ${path.join('.') || 'body'} is not a mapping; tollgate cannot read its images`);
  const base = path.length > 0 ? `/${path.join('/')}` : '';
  const slots: ImageSlot[] = [];
  for (const list of LISTS) {
    const containers = spec[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new ObjectShapeError(`${list} is not a list; tollgate cannot read its images`);
    for (const [index, container] of containers.entries()) {
      if (!isRecord(container)) throw new ObjectShapeError(`${list}[${index}] is not a mapping; tollgate cannot read its image`);
      const name = typeof container.name === 'string' ? container.name.slice(0, 63) : `#${index}`;
      const image = container.image;
      if (typeof image !== 'string' || image.length === 0) throw new ObjectShapeError(`${list}[${index}] (${JSON.stringify(name)}) has no image; name one`);
      slots.push({ pointer: `${base}/${list}/${index}/image`, image, list, container: name });
      if (slots.length > MAX_IMAGES) throw new ObjectShapeError(`the object has more than ${MAX_IMAGES} containers; tollgate does not evaluate that many in one review`);
    }
  }
  return slots;
}
