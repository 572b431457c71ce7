import { createHash } from 'node:crypto';
import {
  createSignatureVerifier,
  evaluatePolicy,
  Image,
  ImageIndex,
  isAttestationManifest,
  loadManifest,
  parseManifest,
  policyImageFrom,
  selectRule,
  signatureLocationOf,
  TollgateError,
  type LoadedPolicy,
  type PolicyImage,
  type PolicyVerdict,
  type SignatureLimits,
  type TrustedRoot,
} from '@tollgate/core';
import { EvidenceRecorder } from './evidence.js';
import type { Gate, GateRequest, Verdict } from './types.js';

export interface PolicyGateOptions extends SignatureLimits {
  /**
   * The registry host rules match for an upstream, by upstream name: a registry upstream's host (`docker.io` for
   * Docker Hub), `<name>.oci` for an OCI layout upstream. Rules then match `<host>/<repository>`, host and
   * repository separately, so a host written into the repository path never matches a host pattern.
   */
  registryFor(upstream: string): string;
  /** Fulcio, Rekor, CT logs and TSAs; default the Sigstore public-good root embedded in tollgate. */
  trustedRoot?: TrustedRoot;
  /** Digest of the trusted root file, folded into the revision so changing the root invalidates cached verdicts. */
  trustedRootDigest?: string;
}

/** Failed findings reported in a verdict, at most. */
const MAX_REASONS = 8;

/**
 * A gate that enforces an admission policy with real signature verification. Each manifest is evaluated with a
 * fresh verifier (signatures fetched once per digest per evaluation) that reads signatures from the same upstream
 * repository (a registry through the upstream's client, an OCI layout through its `sha256-<hex>` referrers tags).
 *
 * Multi-platform images follow the rule's `platforms` scope. An index is a list, not content: under `pulled` (the
 * default) it is admitted as such, and each platform manifest is verified when a client pulls it; under `index` or
 * `all` its signatures are verified before it is served (the index, or every platform manifest). A platform
 * manifest is evaluated with the admitted index that lists it (`parents`), so `index` accepts the index's signature
 * for it and `all` requires every sibling's; pulled by digest without an index, it must carry its own signature.
 * The revision is the policy revision (with the trusted root's digest when one is configured).
 */
export function policyGate(policy: LoadedPolicy, options: PolicyGateOptions): Gate {
  const revision = options.trustedRootDigest !== undefined ? `${policy.revision}+root:${options.trustedRootDigest.replace(/^sha256:/, '').slice(0, 16)}` : policy.revision;
  const limits: SignatureLimits = {
    ...(options.maxSignatures !== undefined ? { maxSignatures: options.maxSignatures } : {}),
    ...(options.maxBlobBytes !== undefined ? { maxBlobBytes: options.maxBlobBytes } : {}),
  };

  const evaluate = (image: PolicyImage, request: GateRequest, subject: LoadedPolicy = policy, recorder?: EvidenceRecorder): Promise<PolicyVerdict> => {
    const location = signatureLocationOf(request.signatureSource ?? request.source);
    const verifier = createSignatureVerifier({ signatures: () => location, ...limits, ...(options.trustedRoot ? { trustedRoot: options.trustedRoot } : {}) });
    return evaluatePolicy(image, subject, { verifier: recorder !== undefined ? recorder.wrap(verifier) : verifier });
  };

  return {
    revision,
    async evaluate(request: GateRequest): Promise<Verdict> {
      const registry = options.registryFor(request.upstream);
      const name = { registry, repository: request.repository };
      const reference = `${registry}/${request.repository}@${request.digest}`;
      const root = loadManifest(request.source, { bytes: request.manifest, mediaType: request.mediaType, expectedDigest: request.digest });
      if (root instanceof ImageIndex) {
        const recorder = new EvidenceRecorder();
        return toVerdict(await evaluateIndex(root, name, reference, request, recorder), revision, recorder);
      }

      const image = root as Image;
      let recorder = new EvidenceRecorder();
      const standalone = async () => evaluate(await policyImageFrom({ root: image, image }, name, { reference }), request, policy, recorder);
      let verdict: PolicyVerdict | undefined;
      for (const parent of (request.parents ?? []).slice(0, 8)) {
        const index = await parentIndex(request, parent);
        if (index === undefined || !index.manifests.some((m) => m.digest === image.digest && m.platform !== undefined)) continue;
        recorder = new EvidenceRecorder();
        verdict = await evaluate(await policyImageFrom({ root: index, image }, name, { reference }), request, policy, recorder);
        if (verdict.decision !== 'deny') break;
      }
      if (verdict === undefined) recorder = new EvidenceRecorder();
      return toVerdict(verdict ?? (await standalone()), revision, recorder);
    },
  };

  async function evaluateIndex(index: ImageIndex, name: { registry: string; repository: string }, reference: string, request: GateRequest, recorder: EvidenceRecorder): Promise<PolicyVerdict> {
    const manifests = index.manifests.filter((d) => d.platform !== undefined && !isAttestationManifest(d));
    const image: PolicyImage = {
      reference,
      registry: name.registry,
      repository: name.repository,
      digest: index.digest,
      subject: 'index',
      index: { digest: index.digest, manifests: manifests.map((m) => ({ digest: m.digest, ...(m.platform ? { platform: m.platform } : {}) })) },
      config: { rootfs: { type: 'layers', diff_ids: [] } },
      layers: [],
      layerIndexes: () => Promise.reject(new TollgateError('USAGE', 'an index has no layers; checks run on the platform manifest that is pulled')),
    };
    const match = selectRule(policy.rules, name.registry, name.repository);
    if (match === undefined) return evaluate(image, request, policy, recorder); // the default decides
    const rule = match.rule;
    if (rule.platforms === 'pulled' || rule.authorities.length === 0) {
      const reason = `an index is a list of platform manifests: each is evaluated against rule ${JSON.stringify(rule.name)} when it is pulled (platforms: ${rule.platforms})`;
      return {
        decision: 'allow',
        revision: policy.revision,
        image: { reference, name: `${name.registry}/${name.repository}`, digest: index.digest },
        rule: rule.name,
        pattern: match.pattern.source,
        mode: rule.mode,
        platforms: rule.platforms,
        summary: reason,
        findings: [{ kind: 'platform', name: `${rule.name}/platforms`, passed: true, reason }],
      };
    }
    // `index` / `all`: the signatures are checked now; attestations and checks when each platform manifest is pulled.
    const signaturesOnly: LoadedPolicy = { ...policy, rules: policy.rules.map((r) => (r === rule ? { ...r, attestations: [], checks: undefined } : r)) };
    return evaluate(image, request, signaturesOnly, recorder);
  }
}

/** An admitted index that lists the manifest, read from the upstream and checked against its digest. */
async function parentIndex(request: GateRequest, digest: string): Promise<ImageIndex | undefined> {
  const location = signatureLocationOf(request.signatureSource ?? request.source);
  if (location === undefined) return undefined;
  const raw = await location.reader.getManifest(location.repository, digest);
  const parsed = parseManifest(raw.bytes, raw.mediaType, `index ${digest}`);
  if (parsed.kind !== 'index') return undefined;
  const loaded = loadManifest(request.source, { bytes: raw.bytes, mediaType: parsed.mediaType, expectedDigest: digest });
  return loaded instanceof ImageIndex ? loaded : undefined;
}

/** The proxy's verdict: the decision, the rule, the failed findings as reasons (or what passed), the revision, the evidence. */
function toVerdict(verdict: PolicyVerdict, revision: string, recorder: EvidenceRecorder): Verdict {
  const failed = verdict.findings.filter((f) => !f.passed);
  const lines = (verdict.decision === 'allow' ? verdict.findings.filter((f) => f.passed && f.kind !== 'rule') : failed).map((f) => `${f.name}: ${f.reason}`);
  const reasons = lines.length > 0 ? lines.slice(0, MAX_REASONS) : [verdict.summary];
  if (lines.length > MAX_REASONS) reasons.push(`and ${lines.length - MAX_REASONS} more`);
  const verified = verdict.decision === 'allow' && verdict.findings.some((f) => (f.kind === 'signatures' || f.kind === 'attestation') && f.passed);
  return { decision: verdict.decision, rule: verdict.rule ?? 'default', reasons, policyRevision: revision, verified, ...(verdict.indeterminate ? { indeterminate: true } : {}), evidence: recorder.evidence(verdict.findings) };
}

/** sha256 of a file's bytes, for PolicyGateOptions.trustedRootDigest. */
export function bytesDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
