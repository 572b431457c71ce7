/** Where the deployment artefacts and the examples they are made from live in the repository. */
import { join } from 'node:path';
import { REPO_ROOT } from '../support/shared.js';

export const EXAMPLES = join(REPO_ROOT, 'examples');
export const KUBERNETES_BASE = join(REPO_ROOT, 'deploy/kubernetes/base');
/** The overlay with the proxy's blobs in a shared S3 bucket (examples/proxy-kubernetes-s3.yaml). */
export const KUBERNETES_S3 = join(REPO_ROOT, 'deploy/kubernetes/overlays/s3');
export const SYSTEMD_UNIT = join(REPO_ROOT, 'deploy/systemd/tollgate-proxy.service');
export const DOCKERFILE = join(REPO_ROOT, 'deploy/Dockerfile');

/** The examples the Kubernetes ConfigMap is generated from (kustomize reads the copies in base/config/). */
export const CONFIGMAP_FILES = ['proxy-kubernetes.yaml', 'webhook.yaml', 'policy.yaml'] as const;

/** The digest deploy/kubernetes/base pins its image to until an overlay sets the real one: no registry serves it. */
export const PLACEHOLDER_DIGEST = `sha256:${'0'.repeat(64)}`;
