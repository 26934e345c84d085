/**
 * The job system on the real database of the project (PGlite or PostgreSQL) with pg-boss's real
 * queue: runs, retries, progress, cancellation, keys, transactional enqueue, and a job whose
 * process stopped being taken over by another process's system.
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createPostgresDb, type Db } from "../src/db/client";
import { jobs } from "../src/db/schema";
import { createCaller, createTRPCContext } from "../src/index";
import {
  backoff,
  JobCancelled,
  type JobContext,
  type JobRow,
  JobSuperseded,
  JobSystem,
  PermanentJobError,
  RetryLater,
} from "../src/jobs";
import { bossDbFor } from "../src/jobs/boss-db";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let database: TestDatabase;
const systems: JobSystem[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  for (const system of systems.splice(0)) await system.stop(2000);
});
afterAll(async () => {
  await database.close();
});

const quiet = (_id: string, error: unknown) => {
  if (process.env.DEBUG_JOBS) console.error(error);
};

async function startSystem(
  define: (system: JobSystem) => void,
  options: { staleAfterSeconds?: number } = {},
): Promise<JobSystem> {
  const system = new JobSystem({
    db: database.db,
    pollingIntervalSeconds: 0.5,
    staleAfterSeconds: options.staleAfterSeconds ?? 30,
    logError: quiet,
  });
  define(system);
  await system.start();
  systems.push(system);
  return system;
}

async function waitForStatus(system: JobSystem, id: string, status: string, timeout = 15_000) {
  return vi.waitFor(
    async () => {
      const row = await system.get(id);
      if (row?.status !== status) throw new Error(`job ${id} is ${row?.status}, not ${status}`);
      return row;
    },
    { timeout, interval: 100 },
  );
}

/** A promise the test resolves by hand. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe("jobs", () => {
  it("runs a job with its data and records its result", async () => {
    const seen: unknown[] = [];
    const system = await startSystem((s) =>
      s.define<{ n: number }>({
        queue: "double",
        handler: async ({ data, attempt }) => {
          seen.push({ data, attempt });
          return { doubled: data.n * 2 };
        },
      }),
    );
    const { job, created } = await system.enqueue("double", { n: 21 });
    expect(created).toBe(true);
    expect(job.status).toBe("queued");
    const done = await waitForStatus(system, job.id, "completed");
    expect(done.result).toEqual({ doubled: 42 });
    expect(done.attempt).toBe(1);
    expect(done.finishedAt).toBeInstanceOf(Date);
    expect(seen).toEqual([{ data: { n: 21 }, attempt: 1 }]);
  });

  it("retries a failing job with a delay until it succeeds, and gives up after its attempts", async () => {
    let calls = 0;
    const system = await startSystem((s) => {
      s.define({
        queue: "flaky",
        retry: backoff(3, 0),
        handler: async ({ attempt }) => {
          calls++;
          if (attempt < 3) throw new Error(`attempt ${attempt} failed`);
          return "ok";
        },
      });
      s.define({
        queue: "broken",
        retry: backoff(2, 0),
        handler: async () => {
          throw new Error("always fails");
        },
      });
    });
    const flaky = await system.enqueue("flaky", {});
    const done = await waitForStatus(system, flaky.job.id, "completed");
    expect(done.attempt).toBe(3);
    expect(calls).toBe(3);
    const broken = await system.enqueue("broken", {});
    const failed = await waitForStatus(system, broken.job.id, "failed");
    expect(failed.attempt).toBe(2);
    expect(failed.error).toBe("always fails");
  });

  it("waits as long as RetryLater asks, and stops at once on a PermanentJobError", async () => {
    const starts: number[] = [];
    const system = await startSystem((s) => {
      s.define({
        queue: "later",
        retry: backoff(5, 0),
        handler: async ({ attempt }) => {
          starts.push(Date.now());
          if (attempt === 1) throw new RetryLater("busy", 2);
        },
      });
      s.define({
        queue: "permanent",
        retry: backoff(5, 0),
        handler: async () => {
          throw new PermanentJobError("the storage was deleted");
        },
      });
    });
    const later = await system.enqueue("later", {});
    await vi.waitFor(
      async () => {
        const row = await system.get(later.job.id);
        expect(row?.status).toBe("retrying");
        expect(row?.error).toBe("busy");
      },
      { timeout: 10_000, interval: 50 },
    );
    // The next attempt's pg-boss job starts no earlier than asked.
    const [pending] = await database.db
      .execute<{ delay: number }>(
        sql`select extract(epoch from start_after - now())::float as delay from pgboss.job
          where data->>'jobId' = ${later.job.id} and state = 'created'`,
      )
      .then((r) => (Array.isArray(r) ? r : (r as { rows: { delay: number }[] }).rows));
    expect(Number(pending?.delay)).toBeGreaterThan(0.5);
    await waitForStatus(system, later.job.id, "completed");
    expect(starts).toHaveLength(2);

    const permanent = await system.enqueue("permanent", {});
    const failed = await waitForStatus(system, permanent.job.id, "failed");
    expect(failed.attempt).toBe(1);
    expect(failed.error).toBe("the storage was deleted");
  });

  it("stores progress with the work it describes, and rolls both back together", async () => {
    const system = await startSystem((s) =>
      s.define({
        queue: "steps",
        retry: backoff(1, 0),
        handler: async ({ commit, organizationId }) => {
          await commit(async (tx) => {
            await tx.execute(sql`insert into settings (key, value) values ('step', '1')`);
            return { done: 1, total: 2 };
          });
          await commit(async (tx) => {
            await tx.execute(sql`update settings set value = '2' where key = 'step'`);
            throw new Error(`step 2 failed for ${organizationId}`);
          });
        },
      }),
    );
    const { job } = await system.enqueue("steps", {});
    const failed = await waitForStatus(system, job.id, "failed");
    expect(failed.progress).toEqual({ done: 1, total: 2 });
    expect(failed.error).toBe("step 2 failed for null");
    const rows = await database.db.execute(sql`select value from settings where key = 'step'`);
    const list = Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows;
    expect(list).toEqual([{ value: "1" }]);
    await database.db.execute(sql`delete from settings where key = 'step'`);
  });

  it("cancels a queued job before it runs, and a running one through its signal", async () => {
    const started = gate();
    const release = gate();
    let ran = 0;
    let sawAbort = false;
    const system = await startSystem((s) => {
      s.define({
        queue: "slow",
        handler: async (ctx: JobContext<unknown>) => {
          ran++;
          started.open();
          await Promise.race([
            release.opened,
            new Promise((resolve) => ctx.signal.addEventListener("abort", resolve)),
          ]);
          sawAbort = ctx.signal.aborted;
          await ctx.commit(async () => ({ reached: "after cancel" }));
        },
      });
      s.define({ queue: "never", handler: async () => void ran++ });
    });
    const waiting = await system.enqueue("never", {}, { delaySeconds: 2 });
    const cancelled = await system.cancel(waiting.job.id);
    expect(cancelled?.status).toBe("cancelled");

    const running = await system.enqueue("slow", {});
    await started.opened;
    await system.cancel(running.job.id);
    const done = await waitForStatus(system, running.job.id, "cancelled");
    expect(sawAbort).toBe(true);
    // The commit after the cancel wrote nothing.
    expect(done.progress).toEqual({});
    // The delayed job's time came and went: it never ran.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(ran).toBe(1);
    expect((await system.get(waiting.job.id))?.status).toBe("cancelled");
  });

  it("keeps one unfinished job per key", async () => {
    const release = gate();
    const system = await startSystem((s) =>
      s.define({ queue: "keyed", handler: async () => release.opened }),
    );
    const first = await system.enqueue("keyed", {}, { key: "storage:1" });
    const again = await system.enqueue("keyed", {}, { key: "storage:1" });
    const other = await system.enqueue("keyed", {}, { key: "storage:2" });
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    expect(other.job.id).not.toBe(first.job.id);
    release.open();
    await waitForStatus(system, first.job.id, "completed");
    const next = await system.enqueue("keyed", {}, { key: "storage:1" });
    expect(next.created).toBe(true);
    await waitForStatus(system, next.job.id, "completed");
  });

  it("creates nothing when the enqueueing transaction rolls back", async () => {
    let ran = false;
    const system = await startSystem((s) =>
      s.define({
        queue: "rolled-back",
        handler: async () => {
          ran = true;
        },
      }),
    );
    let id: string | undefined;
    await expect(
      database.db.transaction(async (tx) => {
        const { job } = await system.enqueue("rolled-back", {}, { tx: tx as never });
        id = job.id;
        throw new Error("the caller's write failed");
      }),
    ).rejects.toThrow("the caller's write failed");
    expect(id).toBeDefined();
    expect(await system.get(id as string)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(ran).toBe(false);
  });

  it("sends a job again whose pg-boss job a stopped process fetched but never claimed", async () => {
    // A process that only enqueues (no workers) creates the job.
    const enqueuer = new JobSystem({ db: database.db, work: false, logError: quiet });
    enqueuer.define({ queue: "orphan", handler: async () => ({}) });
    await enqueuer.start();
    systems.push(enqueuer);
    const { job } = await enqueuer.enqueue("orphan", {});
    // Another process fetched its pg-boss job an hour ago and died before claiming the row.
    await database.db.execute(
      sql`update pgboss.job set state = 'active', started_on = now() - interval '1 hour'
          where id = ${job.bossId}`,
    );
    let ran = 0;
    const worker = await startSystem(
      (s) =>
        s.define({
          queue: "orphan",
          handler: async () => {
            ran += 1;
            return { ran };
          },
        }),
      { staleAfterSeconds: 1 },
    );
    const done = await waitForStatus(worker, job.id, "completed");
    expect(done.result).toEqual({ ran: 1 });
    expect(done.bossId).not.toBe(job.bossId);
    expect(ran).toBe(1);
  });

  it("retries a running job whose process stopped, with its committed progress, and fences the old attempt", async () => {
    const resumed = gate();
    const firstWakes = gate();
    const secondFinishes = gate();
    let staleError: unknown;
    const attempts: { attempt: number; progress: unknown }[] = [];
    // The first process commits a step, then hangs and stops beating (as after kill -9).
    const first = await startSystem((s) =>
      s.define({
        queue: "sync",
        handler: async ({ attempt, progress, commit }) => {
          attempts.push({ attempt, progress });
          await commit(async () => ({ step: 1 }));
          await firstWakes.opened;
          try {
            await commit(async () => ({ step: "written by the dead attempt" }));
          } catch (error) {
            staleError = error;
          }
        },
      }),
    );
    const { job } = await first.enqueue("sync", {});
    await vi.waitFor(async () => expect((await first.get(job.id))?.progress).toEqual({ step: 1 }), {
      timeout: 10_000,
    });
    await first.stop(200);
    systems.splice(systems.indexOf(first), 1);
    expect((await first.get(job.id))?.status).toBe("running");

    const second = await startSystem(
      (s) =>
        s.define({
          queue: "sync",
          handler: async ({ attempt, progress, commit }) => {
            attempts.push({ attempt, progress });
            await commit(async () => ({ step: 2 }));
            resumed.open();
            await secondFinishes.opened;
          },
        }),
      { staleAfterSeconds: 1 },
    );
    await resumed.opened;
    expect(attempts).toEqual([
      { attempt: 1, progress: {} },
      { attempt: 2, progress: { step: 1 } },
    ]);

    // The first attempt wakes up while the second runs: its write is refused, changes nothing.
    firstWakes.open();
    await vi.waitFor(() => expect(staleError).toBeInstanceOf(JobSuperseded));
    const [row] = await database.db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row).toMatchObject({ progress: { step: 2 }, status: "running", attempt: 2 });

    secondFinishes.open();
    const done = await waitForStatus(second, job.id, "completed", 20_000);
    expect(done.progress).toEqual({ step: 2 });
  });

  it("runs the end hooks in the transaction that ends the job, once, never for a retried attempt or a dead one", async () => {
    const ends: unknown[] = [];
    /** What a hook sees of its job inside its transaction: the final status, already. */
    const record = async (tx: Db, kind: string, id: string, detail: unknown) => {
      const [row] = await tx.select().from(jobs).where(eq(jobs.id, id));
      ends.push({ kind, id, status: row?.status, attempt: row?.attempt, detail });
    };
    const hooks = {
      completed: (tx: Db, job: JobRow, result: unknown) => record(tx, "completed", job.id, result),
      failed: (tx: Db, job: JobRow, error: string) => record(tx, "failed", job.id, error),
    };
    const hangs = gate();
    const first = await startSystem((s) => {
      s.define({
        queue: "ends",
        retry: backoff(2, 0),
        handler: async ({ attempt, data }) => {
          if (attempt === 1 || (data as { fails?: boolean }).fails) throw new Error("nope");
          return "ok";
        },
        ...hooks,
      });
      s.define({
        queue: "dies",
        retry: backoff(1, 0),
        handler: async () => {
          await hangs.opened;
          return "too late";
        },
        ...hooks,
      });
    });
    const retried = await first.enqueue("ends", {});
    const failing = await first.enqueue("ends", { fails: true });
    await waitForStatus(first, retried.job.id, "completed");
    await waitForStatus(first, failing.job.id, "failed");
    expect(ends).toEqual([
      { kind: "completed", id: retried.job.id, status: "completed", attempt: 2, detail: "ok" },
      { kind: "failed", id: failing.job.id, status: "failed", attempt: 2, detail: "nope" },
    ]);

    // A job on its last attempt whose process stopped: failed by another process's reaper.
    ends.length = 0;
    const dead = await first.enqueue("dies", {});
    await waitForStatus(first, dead.job.id, "running");
    await first.stop(200);
    systems.splice(systems.indexOf(first), 1);
    const second = await startSystem(
      (s) => {
        s.define({ queue: "ends", handler: async () => {}, ...hooks });
        s.define({ queue: "dies", handler: async () => {}, ...hooks });
      },
      { staleAfterSeconds: 1 },
    );
    const failed = await waitForStatus(second, dead.job.id, "failed", 20_000);
    // The dead attempt returning afterwards completes nothing and announces nothing.
    hangs.open();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ends).toEqual([
      { kind: "failed", id: dead.job.id, status: "failed", attempt: 1, detail: failed.error },
    ]);
    expect((await second.get(dead.job.id))?.status).toBe("failed");
  });

  it("cancels through commit: a handler that ignores its signal still stops at its next write", async () => {
    const started = gate();
    const release = gate();
    let thrown: unknown;
    const system = await startSystem((s) =>
      s.define({
        queue: "stubborn",
        handler: async ({ commit }) => {
          started.open();
          await release.opened;
          try {
            await commit(async () => ({ wrote: true }));
          } catch (error) {
            thrown = error;
            throw error;
          }
        },
      }),
    );
    const { job } = await system.enqueue("stubborn", {});
    await started.opened;
    await system.cancel(job.id);
    release.open();
    const done = await waitForStatus(system, job.id, "cancelled");
    expect(thrown).toBeInstanceOf(JobCancelled);
    expect(done.progress).toEqual({});
  });
});

describe("job procedures", () => {
  it("show and cancel a job of the caller's organization only", async () => {
    const release = gate();
    const system = await startSystem((s) =>
      s.define({
        queue: "report",
        handler: async ({ signal, commit }) => {
          await commit(async () => ({ done: 1, total: 3 }));
          await Promise.race([
            release.opened,
            new Promise((resolve) => signal.addEventListener("abort", resolve)),
          ]);
          await commit(async () => ({ done: 2, total: 3 }));
        },
      }),
    );
    const owner = await createTenant(database.db);
    const stranger = await createTenant(database.db);
    const callerOf = (headers: Record<string, string>) =>
      createCaller(createTRPCContext({ db: database.db, headers, jobs: system }));
    const { job } = await system.enqueue(
      "report",
      {},
      { organizationId: owner.actor.organizationId },
    );

    await vi.waitFor(
      async () => {
        const seen = await callerOf(owner.headers).job.byId({ id: job.id });
        expect(seen).toMatchObject({ status: "running", progress: { done: 1, total: 3 } });
      },
      { timeout: 10_000, interval: 100 },
    );
    await expect(callerOf(stranger.headers).job.byId({ id: job.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "No Job matches the given query.",
    });
    await expect(callerOf(stranger.headers).job.cancel({ id: job.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    const asked = await callerOf(owner.headers).job.cancel({ id: job.id });
    expect(asked.cancel_requested).toBe(true);
    const done = await waitForStatus(system, job.id, "cancelled");
    expect(done.progress).toEqual({ done: 1, total: 3 });
    const withoutJobs = createCaller(
      createTRPCContext({ db: database.db, headers: owner.headers }),
    );
    await expect(withoutJobs.job.cancel({ id: job.id })).rejects.toMatchObject({
      code: "SERVICE_UNAVAILABLE",
    });
  });
});

describe("pg-boss's connection", () => {
  it("leaves no aborted transaction behind when a statement of a multi-statement text fails", async () => {
    // One connection, so that the query after the failure runs where the failure happened.
    const db =
      database.driver === "postgres"
        ? createPostgresDb(database.url ?? "", { max: 1 })
        : database.db;
    try {
      const boss = bossDbFor(db);
      await expect(boss.executeSql("BEGIN; SELECT 1; SELECT 1 / 0; COMMIT;")).rejects.toMatchObject(
        { code: "22012" },
      );
      expect((await boss.executeSql("SELECT 2 AS two")).rows).toEqual([{ two: 2 }]);
      expect((await boss.executeSql("SELECT $1::int AS three", [3])).rows).toEqual([{ three: 3 }]);
    } finally {
      if (db !== database.db) await db.$close();
    }
  });
});
