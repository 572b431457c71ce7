/**
 * `tollgate audit --since/--until` (the built CLI) over events at known times in each place the trail is read from:
 * a level store (`--data`), the audit.file (`--config` while a process holds the level store) and a Redis store
 * (`--config`). Both bounds are inclusive; a --since after the --until, or a time that is no time, is a usage error
 * (exit 2) in one line. Run `pnpm build` first (npm test does).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelMetadataStore } from '../../packages/proxy/src/store/level-metadata-store.js';
import { RedisMetadataStore } from '../../packages/proxy/src/store/redis-metadata-store.js';
import { HOUR, PLAN, planEvent, recordPlan, T0 } from '../../packages/proxy/test/audit-window-cases.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RunningRedis } from './support/redis.js';

let work: string;
let dataDir: string;
let redis: RunningRedis;

const iso = (at: number) => new Date(at).toISOString();
const UPSTREAMS = 'gate: allow-all\nupstreams:\n  - name: hub\n    url: https://registry-1.docker.io\n    default: true\n';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-audit-window-cli-'));
  dataDir = join(work, 'data');
  await mkdir(dataDir);
  const level = await LevelMetadataStore.open(join(dataDir, 'meta'));
  await recordPlan(level);
  await level.close();
  redis = await startRedis();
  const store = await RedisMetadataStore.open(redis.url(3));
  await recordPlan(store);
  await store.close();
});

afterAll(async () => {
  await redis?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function repositories(args: string[]): Promise<string[]> {
  const result = await runCli(['audit', ...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { repository: string }[]).map((e) => e.repository);
}

/** The same windows wherever the trail is read from. */
async function expectCliWindows(source: string[]): Promise<void> {
  expect(await repositories([...source, '--since', iso(T0 + 2 * HOUR), '--until', iso(T0 + 5 * HOUR)])).toEqual(['r2', 'r3', 'r4', 'r5', 'r5b']);
  expect(await repositories([...source, '--since', iso(T0 + 2 * HOUR + 1), '--until', iso(T0 + 5 * HOUR - 1)])).toEqual(['r3', 'r4']);
  expect(await repositories([...source, '--until', '2025-01-28T01:00:00+00:00', '--limit', '5'])).toEqual(['r0', 'r1']);
  expect(await repositories([...source, '--since', iso(T0 + 3 * HOUR), '--until', iso(T0 + 3 * HOUR)])).toEqual(['r3']);
  expect(await repositories([...source, '--until', '2025-01-27'])).toEqual([]);
}

describe('windows', () => {
  it('level store (--data)', async () => {
    await expectCliWindows(['--data', dataDir]);
  });

  it('audit.file (--config while another process holds the level store)', async () => {
    const file = join(work, 'audit.jsonl');
    // One event only the file has, so the answers show it was the file that was read.
    const onlyInFile = planEvent({ at: T0 + 30 * HOUR, repository: 'file-only' });
    await writeFile(file, [...PLAN.map(planEvent), onlyInFile].map((e) => `${JSON.stringify(e)}\n`).join(''));
    const config = join(work, 'file.yaml');
    await writeFile(config, `dataDir: ./data\naudit:\n  file: ./audit.jsonl\n${UPSTREAMS}`);
    const holder = await LevelMetadataStore.open(join(dataDir, 'meta'));
    try {
      await expectCliWindows(['--config', config]);
      expect(await repositories(['--config', config, '--since', iso(T0 + 24 * HOUR), '--until', iso(T0 + 30 * HOUR)])).toEqual(['file-only']);
    } finally {
      await holder.close();
    }
  });

  it('Redis store (--config)', async () => {
    const config = join(work, 'redis.yaml');
    await writeFile(config, `dataDir: ./data\nstore:\n  metadata: ${redis.url(3)}\n${UPSTREAMS}`);
    await expectCliWindows(['--config', config]);
    // Durations are that long ago: everything recorded is older than a day.
    expect(await repositories(['--config', config, '--since', '1h', '--until', '0s'])).toEqual([]);
    expect((await repositories(['--config', config, '--until', '1d'])).length).toBe(PLAN.length);
  });
});

describe('usage errors', () => {
  it('refuses a --since later than the --until with exit 2, before reading any store', async () => {
    const swapped = await runCli(['audit', '--data', join(work, 'nowhere'), '--since', '1h', '--until', '2h']);
    expect(swapped.code).toBe(2);
    expect(swapped.stdout).toBe('');
    expect(swapped.stderr.trim().split('\n')).toHaveLength(1);
    expect(swapped.stderr).toMatch(/--since \(.*\) is later than --until \(.*\): the window is empty; swap them/);
    const absolute = await runCli(['audit', '--data', dataDir, '--since', iso(T0 + 2 * HOUR), '--until', iso(T0 + HOUR)]);
    expect(absolute.code).toBe(2);
    expect(absolute.stderr).toContain(`--since (${iso(T0 + 2 * HOUR)}) is later than --until (${iso(T0 + HOUR)})`);
  });

  it('refuses times that are no time, one line each, with exit 2', async () => {
    const cases: [string, string][] = [
      ['tuesday', '--until "tuesday" is neither a duration back from now (30m, 2h, 7d) nor an RFC 3339 time'],
      ['-2h', '--until "-2h" is negative'],
      ['9999999999999w', '--until "9999999999999w" reaches back before 1970'],
      ['2205-01-28T00:00:00Z', '--until "2205-01-28T00:00:00Z" is more than a day in the future'],
      ['2025-02-30', '--until "2025-02-30" is not a real date and time'],
      ['1969-06-01T00:00:00Z', '--until "1969-06-01T00:00:00Z" is before 1970'],
    ];
    for (const [value, message] of cases) {
      const result = await runCli(['audit', '--data', dataDir, '--until', value]);
      expect(result.code, value).toBe(2);
      expect(result.stderr, value).toContain(message);
      expect(result.stderr.trim().split('\n'), value).toHaveLength(1);
    }
  });

  it('documents --until with an example of both bounds', async () => {
    const help = await runCli(['audit', '--help']);
    expect(help.stdout).toContain('--until <when>');
    expect(help.stdout).toMatch(/tollgate audit .*--since \S+ --until \S+/);
  });
});
