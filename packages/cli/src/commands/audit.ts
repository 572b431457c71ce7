import { Command, Option } from 'commander';
import { TollgateError } from '@tollgate/core';
import type { AuditRecord, AuditQuery, ProxyConfig } from '@tollgate/proxy';
import { ExitCode } from '../exit-codes.js';
import { table, writeJson, writeOut } from '../output/write.js';
import { withStatus } from '../run-status.js';

/** fastify and friends load only when the command runs, not on every CLI start. */
const proxyModule = () => import('@tollgate/proxy');

interface AuditFlags {
  data?: string;
  config?: string;
  since?: string;
  until?: string;
  image?: string;
  verdict?: 'allow' | 'deny' | 'warn' | 'indeterminate';
  limit: string;
  json?: boolean;
}

async function configFrom(flags: AuditFlags): Promise<ProxyConfig> {
  const proxy = await proxyModule();
  if (flags.config !== undefined) {
    const env = { ...process.env };
    if (flags.data !== undefined) env.TOLLGATE_PROXY_DATA_DIR = flags.data;
    return proxy.loadProxyConfig(flags.config, { env });
  }
  if (flags.data === undefined) throw new TollgateError('USAGE', 'tollgate audit needs --data <dir> (the proxy data directory) or --config <file> (the proxy config)');
  // A data directory alone means the default level store inside it.
  return proxy.normalizeProxyConfig({ dataDir: flags.data, upstreams: [{ name: 'audit', oci: '/', default: true }] }, { env: {}, baseDir: process.cwd() });
}

function short(digest: unknown): string {
  return typeof digest === 'string' ? digest.replace(/^(sha256:|sha512:)(.{12}).*$/, '$1$2') : '';
}

function clean(text: string, max: number): string {
  const flat = text.replace(/[\x00-\x1f\x7f]/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** An admission event's IMAGE cell: the object, then each image as the proxy routed it (else as the object named it). */
function admissionImages(event: AuditRecord): string {
  const name = typeof event.name === 'string' ? event.name : '';
  const object = `${typeof event.kind === 'string' ? event.kind : 'review'} ${typeof event.namespace === 'string' ? `${event.namespace}/` : ''}${name}`.trim();
  const targets = Array.isArray(event.targets) ? (event.targets as { upstream?: unknown; repository?: unknown; digest?: unknown }[]) : [];
  const images = targets.length > 0
    ? targets.map((t) => `${String(t.upstream)}/${String(t.repository)}${t.digest !== undefined ? `@${short(t.digest)}` : ''}`)
    : (Array.isArray(event.images) ? event.images : []).map(String);
  return images.length > 0 ? `${object}: ${images.join(', ')}` : object;
}

function row(event: AuditRecord): string[] {
  const time = typeof event.time === 'string' ? event.time : new Date(event.at).toISOString();
  const image = event.repository !== undefined ? `${event.upstream !== undefined ? `${event.upstream}/` : ''}${event.repository}` : '';
  const move = event.tagMove as { tag: string; from: string; to: string } | undefined;
  let verdict: string = event.verdict ?? event.type;
  let reason = Array.isArray(event.reasons) ? event.reasons.join('; ') : '';
  if (event.type === 'tag-mutation') {
    verdict = 'tag-moved';
    reason = `tag ${String(event.tag)} moved from ${short(event.oldDigest)} to ${short(event.newDigest)}`;
  } else if (event.type !== 'verdict') {
    verdict = `${event.type}:${event.verdict ?? '-'}`;
  }
  if (move !== undefined && event.type === 'verdict') reason = `[tag ${move.tag} moved ${short(move.from)} → ${short(move.to)}] ${reason}`;
  const who = event.identity !== undefined ? ` (${clean(String(event.identity), 40)})` : '';
  if (event.type === 'admission') {
    // The rule column says which webhook decided; an admission names several images.
    const webhook = typeof event.webhook === 'string' ? event.webhook : '-';
    return [time, verdict, clean(admissionImages(event), 90) + who, webhook, clean(reason, 160)];
  }
  const digest = event.digest !== undefined ? `@${short(event.digest)}` : '';
  return [time, verdict, clean(`${image}${digest}`, 90) + who, event.rule ?? '-', clean(reason, 160)];
}

export function auditCommand(): Command {
  return new Command('audit')
    .description('query the proxy\'s audit trail: one event per decision (verdicts, tag moves, refused clients, integrity failures)')
    .option('-d, --data <dir>', 'the proxy data directory (level store in <dir>/meta)')
    .option('-c, --config <file>', 'the proxy config (reads its store: level, Redis, or audit.file while the proxy holds level)')
    .option('--since <when>', 'only events at or after a duration ago (30m, 2h, 7d) or an RFC 3339 time')
    .option('--until <when>', 'only events at or before a duration ago (30m, 2h, 7d) or an RFC 3339 time; the store reads only the window')
    .option('--image <glob>', 'only events for images matching a glob over <upstream>/<repository> or <repository> (e.g. "hub/library/*"); admission events match by any of their images')
    .addOption(new Option('--verdict <verdict>', 'only events with this verdict').choices(['allow', 'deny', 'warn', 'indeterminate']))
    .option('--limit <n>', 'at most this many events (the newest)', '1000')
    .option('--json', 'print the events as a JSON array', false)
    .addHelpText(
      'after',
      `
Each event: time, client, identity (a user name, never a credential), upstream, repository, reference, digest,
verdict, rule, reasons, mode, and tagMove {tag, from, to} when a tag now points at a new digest.

--since and --until both include their bound; a duration means that long ago (--since 2d --until 1d is the day
before the last 24 hours). A --since later than --until is an error, not an empty answer.

With a level store the running proxy holds the database: give --config so the audit.file (JSON lines) is read
instead, or stop the proxy. A Redis store can be read while the proxy runs.

Examples:
  tollgate audit --data /var/lib/tollgate --since 1h
  tollgate audit --config tollgate.yaml --verdict deny --image 'hub/library/*'
  tollgate audit --config tollgate.yaml --since 2025-01-31T00:00:00Z --json | jq '.[].digest'
  tollgate audit --config tollgate.yaml --since 2025-01-28T00:00:00Z --until 2025-01-28T23:59:59.999Z --verdict deny
  tollgate audit --data /var/lib/tollgate --since 2d --until 1d`,
    )
    .action(
      withStatus(async (flags: AuditFlags) => {
        if (!/^\d{1,7}$/.test(flags.limit) || Number(flags.limit) < 1) throw new TollgateError('USAGE', '--limit must be a whole number from 1 to 9999999');
        const proxy = await proxyModule();
        const query: AuditQuery = { limit: Number(flags.limit) };
        // One now for both, so --since 2h --until 1h is exactly an hour; read before the store is opened.
        const now = Date.now();
        if (flags.since !== undefined) query.since = proxy.parseSince(flags.since, now);
        if (flags.until !== undefined) query.until = proxy.parseUntil(flags.until, now);
        proxy.checkAuditWindow(query.since, query.until);
        const config = await configFrom(flags);
        if (flags.image !== undefined) query.image = flags.image;
        if (flags.verdict !== undefined) query.verdict = flags.verdict;
        const { events } = await proxy.queryAudit(config, query);
        if (flags.json) {
          writeJson(events);
          return ExitCode.Ok;
        }
        if (events.length === 0) {
          writeOut('no audit events match');
          return ExitCode.Ok;
        }
        writeOut(table([['TIME', 'VERDICT', 'IMAGE@DIGEST', 'RULE', 'REASON'], ...events.map(row)]));
        return ExitCode.Ok;
      }),
    );
}
