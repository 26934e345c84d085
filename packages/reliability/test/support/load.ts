/** Clients that create tasks over REST and keep account of what was acknowledged. */

export interface Tally {
  acknowledged: number[];
  statuses: Map<number, number>;
  networkErrors: number;
  serverErrors: { status: number; body: string }[];
}

export function newTally(): Tally {
  return { acknowledged: [], statuses: new Map(), networkErrors: 0, serverErrors: [] };
}

export async function postJson(
  url: string,
  token: string,
  body: unknown,
  timeoutMs = 30_000,
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Token ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** One client: `count` creates in sequence, each to the server `pick(k)` names. */
export async function createClient(opts: {
  count: number;
  token: string;
  project: number;
  pick: (k: number) => string;
  tally: Tally;
  label: string;
  stop?: () => boolean;
  pauseMs?: number;
}): Promise<void> {
  for (let k = 0; k < opts.count; k++) {
    if (opts.stop?.()) return;
    try {
      const res = await postJson(`${opts.pick(k)}/api/tasks/`, opts.token, {
        data: { text: `${opts.label} ${k}` },
        project: opts.project,
      });
      opts.tally.statuses.set(res.status, (opts.tally.statuses.get(res.status) ?? 0) + 1);
      const text = await res.text();
      if (res.status === 201) opts.tally.acknowledged.push((JSON.parse(text) as { id: number }).id);
      else if (res.status >= 500) opts.tally.serverErrors.push({ status: res.status, body: text });
    } catch {
      opts.tally.networkErrors += 1;
    }
    if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
  }
}

export function importItems(n: number, source: string) {
  return Array.from({ length: n }, (_, i) => ({ data: { text: `${source} ${i}`, source } }));
}

/** One create as a client saw it: when it started, how long it took, what it answered. */
export interface CreateRecord {
  text: string;
  startedAt: number;
  ms: number;
  /** HTTP status, or 0 when the request itself failed (no answer within the client's limit). */
  status: number;
  id?: number;
  detail?: string;
  retryAfter?: string | null;
}

/** Creates one task whose text is `text`; never throws. */
export async function timedCreate(
  url: string,
  token: string,
  project: number,
  text: string,
  idempotencyKey?: string,
): Promise<CreateRecord> {
  const startedAt = Date.now();
  try {
    const res = await fetch(`${url}/api/tasks/`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Token ${token}`,
        ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
      },
      body: JSON.stringify({ data: { text }, project }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as { id?: number; detail?: string };
    return {
      text,
      startedAt,
      ms: Date.now() - startedAt,
      status: res.status,
      id: res.status === 201 ? body.id : undefined,
      detail: body.detail,
      retryAfter: res.headers.get("retry-after"),
    };
  } catch {
    return { text, startedAt, ms: Date.now() - startedAt, status: 0 };
  }
}

/** GET /api/health with its status and latency; status 0 when it did not answer in 60 s. */
export async function timedHealth(
  url: string,
): Promise<{ startedAt: number; ms: number; status: number }> {
  const startedAt = Date.now();
  try {
    const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(60_000) });
    await res.arrayBuffer();
    return { startedAt, ms: Date.now() - startedAt, status: res.status };
  } catch {
    return { startedAt, ms: Date.now() - startedAt, status: 0 };
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
