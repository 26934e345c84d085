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
