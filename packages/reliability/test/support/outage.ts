/**
 * A fault under load, as the outage suites run it: 8 clients of creates against one Taskport
 * process, a fault applied for a while and then ended, and the recovery measured; then the
 * checks every such scenario shares, and the figures printed for the record.
 */
import postgres from "postgres";
import { expect } from "vitest";
import { type CreateRecord, sleep, timedCreate, timedHealth } from "./load";

// The bounds promised, with slack for a busy machine: these are behaviour checks, not
// benchmarks (the figures are printed).
export const SLACK_MS = 1_500;
export const HEALTH_BOUND_MS = 2_000;
export const RECOVERY_BOUND_MS = 2_000;

export interface Outcome {
  creates: CreateRecord[];
  health: { startedAt: number; ms: number; status: number }[];
  faultStart: number;
  /** When `fault.begin()` returned: a create sent in the same millisecond as faultStart, just
   * before the fault began, may still be committed. */
  faultInPlace: number;
  faultEnd: number;
  recoveryCreateMs: number;
  recoveryHealthMs: number;
}

/** Runs 8 clients of creates, applies the fault for `faultMs`, ends it and measures recovery. */
export async function underLoad(
  url: string,
  scenario: string,
  project: number,
  token: string,
  fault: { begin(): void; end(): void },
  faultMs: number,
): Promise<Outcome> {
  const creates: CreateRecord[] = [];
  let stop = false;
  // Half the clients send an Idempotency-Key, so that creates in a transaction are covered.
  const clients = Array.from({ length: 8 }, async (_, i) => {
    for (let k = 0; !stop; k++) {
      const text = `${scenario}-c${i}-${k}`;
      creates.push(await timedCreate(url, token, project, text, i % 2 ? undefined : text));
    }
  });
  while (creates.filter((r) => r.status === 201).length < 100) await sleep(20);

  const faultStart = Date.now();
  fault.begin();
  const faultInPlace = Date.now();
  const health: Outcome["health"] = [];
  const probing = (async () => {
    while (Date.now() - faultStart < faultMs) {
      health.push(await timedHealth(url));
      await sleep(250);
    }
  })();
  await sleep(faultMs);
  fault.end();
  const faultEnd = Date.now();
  await probing;

  const recovery = async (probe: () => Promise<boolean>) => {
    for (;;) {
      if (await probe()) return Date.now() - faultEnd;
      if (Date.now() - faultEnd > 60_000) return Number.POSITIVE_INFINITY;
      await sleep(50);
    }
  };
  const [recoveryCreateMs, recoveryHealthMs] = await Promise.all([
    recovery(async () => {
      const r = await timedCreate(url, token, project, `${scenario}-probe-${Date.now()}`);
      creates.push(r);
      return r.status === 201;
    }),
    recovery(async () => (await timedHealth(url)).status === 200),
  ]);
  await sleep(1_000);
  stop = true;
  await Promise.all(clients);
  return {
    creates,
    health,
    faultStart,
    faultInPlace,
    faultEnd,
    recoveryCreateMs,
    recoveryHealthMs,
  };
}

/** Checks the answers and the database (at `databaseUrl`), and prints the figures. */
export async function checkOutcome(
  databaseUrl: string,
  scenario: string,
  project: number,
  o: Outcome,
  createBoundMs: number,
) {
  const unavailable = o.creates.filter((r) => r.status === 503);
  const during = o.creates.filter(
    (r) => r.startedAt > o.faultInPlace && r.startedAt + r.ms < o.faultEnd,
  );
  const healthDuring = o.health.filter((h) => h.startedAt + h.ms < o.faultEnd);
  const figures = {
    scenario,
    creates: o.creates.length,
    acknowledged: o.creates.filter((r) => r.status === 201).length,
    unavailable: unavailable.length,
    max503Ms: Math.max(0, ...unavailable.map((r) => r.ms)),
    median503Ms: median(unavailable.map((r) => r.ms)),
    healthDuringMaxMs: Math.max(0, ...healthDuring.map((h) => h.ms)),
    recoveryCreateMs: o.recoveryCreateMs,
    recoveryHealthMs: o.recoveryHealthMs,
  };
  console.log(`[outage] ${JSON.stringify(figures)}`);

  // Every answer is a 201 or a clear 503, within its bound; nothing hangs, nothing is a 500.
  expect(o.creates.filter((r) => r.status !== 201 && r.status !== 503)).toEqual([]);
  expect(o.creates.filter((r) => r.ms > createBoundMs + SLACK_MS)).toEqual([]);
  for (const r of unavailable) {
    expect(r.detail).toMatch(/database is unavailable/i);
    expect(r.retryAfter).toBe("1");
  }
  // The fault was seen: creates that started and ended within it were all refused.
  expect(during.length).toBeGreaterThan(0);
  expect(during.filter((r) => r.status !== 503)).toEqual([]);
  expect(healthDuring.length).toBeGreaterThan(0);
  expect(healthDuring.filter((h) => h.status !== 503)).toEqual([]);
  expect(healthDuring.filter((h) => h.ms > HEALTH_BOUND_MS + SLACK_MS)).toEqual([]);
  expect(o.recoveryCreateMs).toBeLessThan(RECOVERY_BOUND_MS + SLACK_MS);
  expect(o.recoveryHealthMs).toBeLessThan(RECOVERY_BOUND_MS + SLACK_MS);

  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ id: string; inner_id: string; text: string }[]>`
      select id, inner_id, data->>'text' as text from tasks where project_id = ${project}
      order by inner_id`;
    // Nothing acknowledged is lost.
    const ids = new Set(rows.map((r) => Number(r.id)));
    const acknowledged = o.creates.filter((r) => r.status === 201);
    expect(acknowledged.filter((r) => !ids.has(r.id as number))).toEqual([]);
    // A create that was refused is either committed whole or not at all: every row is one
    // that was sent, once, and the project's counter and inner_ids agree with the rows.
    const sent = new Set(o.creates.map((r) => r.text));
    const texts = rows.map((r) => r.text);
    expect(texts.filter((t) => !sent.has(t))).toEqual([]);
    expect(new Set(texts).size).toBe(texts.length);
    expect(rows.map((r) => Number(r.inner_id))).toEqual(rows.map((_, i) => i + 1));
    const [counter] = await sql<{ task_number: number; last_inner_id: string }[]>`
      select task_number, last_inner_id from projects where id = ${project}`;
    expect(counter).toEqual({ task_number: rows.length, last_inner_id: String(rows.length) });
  } finally {
    await sql.end();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? (sorted[Math.floor(sorted.length / 2)] as number) : 0;
}
