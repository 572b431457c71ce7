import type { ProxyMetrics } from '../../ops/metrics.js';

/** One sample of the proxy's request counters (cumulative since start). */
export interface RequestSample {
  at: number;
  requests: number;
  /** Answered 4xx (refusals, auth, not found). */
  clientErrors: number;
  /** Answered 5xx. */
  serverErrors: number;
}

/** Samples kept: an hour at the default interval. */
export const HISTORY_SAMPLES = 120;
export const SAMPLE_INTERVAL_MS = 30_000;

async function counterTotals(metrics: ProxyMetrics): Promise<Omit<RequestSample, 'at'>> {
  const { values } = await metrics.requests.get();
  let requests = 0;
  let clientErrors = 0;
  let serverErrors = 0;
  for (const { value, labels } of values) {
    if (labels.kind === 'ui') continue; // the dashboard's own requests (and its polling) are not traffic
    requests += value;
    const status = String(labels.status ?? '');
    if (status.startsWith('4')) clientErrors += value;
    else if (status.startsWith('5')) serverErrors += value;
  }
  return { requests, clientErrors, serverErrors };
}

/**
 * Requests over time for the Health page, from the proxy's own `tollgate_proxy_requests_total` counter: sampled
 * every SAMPLE_INTERVAL_MS into a ring of HISTORY_SAMPLES (per process: each replica's page shows its own).
 */
export class RequestHistory {
  private readonly samples: RequestSample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly now: () => number,
    intervalMs = SAMPLE_INTERVAL_MS,
  ) {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  private async sample(): Promise<RequestSample> {
    const sample = { at: this.now(), ...(await counterTotals(this.metrics)) };
    this.samples.push(sample);
    if (this.samples.length > HISTORY_SAMPLES) this.samples.shift();
    return sample;
  }

  /** The kept samples and one taken now, oldest first. */
  async read(): Promise<RequestSample[]> {
    const now = { at: this.now(), ...(await counterTotals(this.metrics)) };
    return [...this.samples, now];
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Requests per interval between consecutive samples (what the chart draws). */
export function perInterval(samples: readonly RequestSample[]): { at: number; requests: number; errors: number }[] {
  const out: { at: number; requests: number; errors: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    out.push({ at: b.at, requests: Math.max(0, b.requests - a.requests), errors: Math.max(0, b.clientErrors + b.serverErrors - a.clientErrors - a.serverErrors) });
  }
  return out;
}
