/**
 * What every Kubernetes manifest tollgate ships must say, as checks over parsed documents (the files as written, or
 * as `kubectl kustomize` renders them). Each check returns the problems it found, one line each, so a test shows
 * them all at once.
 */
import { PLACEHOLDER_DIGEST } from './paths.js';

export type Doc = Record<string, any>;

const DIGEST_PINNED = /^[^@\s]+@sha256:[0-9a-f]{64}$/;

export function ofKind(docs: readonly Doc[], kind: string): Doc[] {
  return docs.filter((d) => d.kind === kind);
}

function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function containersOf(deployment: Doc): Doc[] {
  const spec = deployment.spec?.template?.spec ?? {};
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

/** Every container image names a digest; the only digest allowed without a real image is the documented placeholder. */
export function imageProblems(docs: readonly Doc[], resolve: (image: string) => string = (i) => i): string[] {
  const problems: string[] = [];
  for (const d of ofKind(docs, 'Deployment')) {
    for (const c of containersOf(d)) {
      const image = resolve(String(c.image));
      if (!DIGEST_PINNED.test(image)) problems.push(`${d.metadata.name}/${c.name}: image ${image} is not pinned by digest`);
      else if (/@sha256:0{64}$/.test(image) && !image.endsWith(PLACEHOLDER_DIGEST)) problems.push(`${d.metadata.name}/${c.name}: unknown placeholder ${image}`);
    }
  }
  return problems;
}

/** Replicas, probes, the non-root security context, a PDB and a Service for each Deployment. */
export function workloadProblems(docs: readonly Doc[]): string[] {
  const problems: string[] = [];
  const deployments = ofKind(docs, 'Deployment');
  if (deployments.length < 2) problems.push(`expected the proxy and the webhook Deployments, found ${deployments.map((d) => d.metadata?.name).join(', ') || 'none'}`);
  for (const d of deployments) {
    const name = d.metadata.name as string;
    const pod = d.spec?.template?.spec ?? {};
    const podLabels = d.spec?.template?.metadata?.labels;
    if (!(d.spec?.replicas >= 2)) problems.push(`${name}: replicas ${d.spec?.replicas} (at least 2)`);
    if (!labelsMatch(d.spec?.selector?.matchLabels, podLabels)) problems.push(`${name}: selector does not match the pod labels`);
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${name}: pod securityContext.runAsNonRoot is not true`);
    if (!(pod.securityContext?.runAsUser > 0)) problems.push(`${name}: pod securityContext.runAsUser is not a non-zero uid`);
    if (pod.automountServiceAccountToken !== false) problems.push(`${name}: automountServiceAccountToken is not false (tollgate needs no API access)`);
    for (const c of containersOf(d)) {
      const at = `${name}/${c.name}`;
      const sc = c.securityContext ?? {};
      if (sc.runAsNonRoot !== true) problems.push(`${at}: securityContext.runAsNonRoot is not true`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: securityContext.readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: securityContext.allowPrivilegeEscalation is not false`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${at}: securityContext.capabilities.drop does not include ALL`);
      if (sc.privileged === true) problems.push(`${at}: privileged`);
      const ports = new Set((c.ports ?? []).flatMap((p: Doc) => [p.name, p.containerPort]));
      for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
        const get = c[probe]?.httpGet;
        if (get?.path !== path) problems.push(`${at}: ${probe} is not an httpGet of ${path}`);
        else if (!ports.has(get.port)) problems.push(`${at}: ${probe} port ${get.port} is not a container port`);
      }
      for (const m of c.volumeMounts ?? []) {
        if (!(pod.volumes ?? []).some((v: Doc) => v.name === m.name)) problems.push(`${at}: mounts ${m.name}, which is not a volume`);
      }
    }
    if (!ofKind(docs, 'PodDisruptionBudget').some((p) => labelsMatch(p.spec?.selector?.matchLabels, podLabels) && (p.spec.minAvailable >= 1 || p.spec.maxUnavailable !== undefined))) {
      problems.push(`${name}: no PodDisruptionBudget selects its pods`);
    }
    const services = ofKind(docs, 'Service').filter((s) => labelsMatch(s.spec?.selector, podLabels));
    if (services.length === 0) problems.push(`${name}: no Service selects its pods`);
    for (const s of services) {
      const targets = new Set(containersOf(d).flatMap((c) => (c.ports ?? []).flatMap((p: Doc) => [p.name, p.containerPort])));
      for (const p of s.spec.ports ?? []) if (!targets.has(p.targetPort)) problems.push(`Service ${s.metadata.name}: targetPort ${p.targetPort} is no port of ${name}`);
    }
  }
  return problems;
}

/** The namespace the webhook's own pods run in (the Deployment's, else the kustomization's). */
export function webhookNamespace(docs: readonly Doc[], fallback: string | undefined): string | undefined {
  const d = ofKind(docs, 'Deployment').find((x) => (x.spec?.template?.spec?.containers ?? []).some((c: Doc) => (c.args ?? []).includes('webhook')));
  return d?.metadata?.namespace ?? fallback;
}

/**
 * Both webhook configurations: failurePolicy Fail, sideEffects None, AdmissionReview v1, a timeout above the
 * webhook's own budget, kube-system and the webhook's namespace excluded, and a clientConfig naming the webhook's
 * Service on one of its ports.
 */
export function webhookProblems(docs: readonly Doc[], options: { namespace: string | undefined; budgetMs: number }): string[] {
  const problems: string[] = [];
  for (const [kind, path] of [['MutatingWebhookConfiguration', '/mutate'], ['ValidatingWebhookConfiguration', '/validate']] as const) {
    const configs = ofKind(docs, kind);
    if (configs.length !== 1) problems.push(`expected one ${kind}, found ${configs.length}`);
    for (const config of configs) {
      for (const w of config.webhooks ?? []) {
        const at = `${kind} ${w.name}`;
        if (w.failurePolicy !== 'Fail') problems.push(`${at}: failurePolicy ${w.failurePolicy} (must be Fail: no answer, no pod)`);
        if (w.sideEffects !== 'None') problems.push(`${at}: sideEffects ${w.sideEffects} (must be None)`);
        if (JSON.stringify(w.admissionReviewVersions) !== '["v1"]') problems.push(`${at}: admissionReviewVersions ${JSON.stringify(w.admissionReviewVersions)} (must be [v1])`);
        if (!(w.timeoutSeconds * 1000 > options.budgetMs && w.timeoutSeconds <= 30)) problems.push(`${at}: timeoutSeconds ${w.timeoutSeconds} must exceed the webhook's budget (${options.budgetMs} ms) and be at most 30`);
        const excluded = (w.namespaceSelector?.matchExpressions ?? []).filter((e: Doc) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn').flatMap((e: Doc) => e.values ?? []);
        for (const ns of ['kube-system', options.namespace ?? '(the webhook has no namespace)']) {
          if (!excluded.includes(ns)) problems.push(`${at}: namespaceSelector does not exclude ${ns}`);
        }
        const service = w.clientConfig?.service;
        if (service?.path !== path) problems.push(`${at}: clientConfig.service.path ${service?.path} (must be ${path})`);
        const target = ofKind(docs, 'Service').find((s) => s.metadata?.name === service?.name);
        if (target === undefined) problems.push(`${at}: clientConfig.service names ${service?.name}, which is not a Service here`);
        else {
          if ((target.metadata.namespace ?? options.namespace) !== service.namespace) problems.push(`${at}: clientConfig.service.namespace ${service.namespace}, the Service is in ${target.metadata.namespace ?? options.namespace}`);
          if (!(target.spec.ports ?? []).some((p: Doc) => p.port === (service.port ?? 443))) problems.push(`${at}: the Service has no port ${service.port ?? 443}`);
        }
        if ((w.rules ?? []).length === 0) problems.push(`${at}: no rules`);
        for (const r of w.rules ?? []) {
          if ((r.operations ?? []).some((o: string) => o !== 'CREATE' && o !== 'UPDATE')) problems.push(`${at}: registers ${r.operations} (only CREATE and UPDATE carry images)`);
        }
      }
      if ((config.webhooks ?? []).length === 0) problems.push(`${kind}: no webhooks`);
    }
  }
  return problems;
}
