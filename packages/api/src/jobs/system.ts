/**
 * Taskport's durable jobs, on pg-boss. A job is a row of `jobs` (status, progress, attempts)
 * plus, for each attempt, one pg-boss job that carries the row's id. pg-boss stores pending
 * attempts in PostgreSQL (or PGlite), hands each to one worker of one process (SKIP LOCKED),
 * starts them no earlier than asked, and runs cron schedules. This module adds what a caller of
 * a long job needs and pg-boss 10 does not have:
 *
 * - progress written in the same transaction as the work it describes (`commit`), so a job
 *   resumed after a crash continues from exactly what was committed;
 * - heartbeats: each process marks its running jobs every few seconds; a running job whose
 *   process stopped (kill -9, a lost machine) is noticed by any other process, or by the same
 *   one after its restart, and retried;
 * - retries decided here (a delay per attempt, `RetryLater` for a delay the handler knows,
 *   `PermanentJobError` for no retry), each retry being a new pg-boss job;
 * - cancellation, which reaches a running handler through its AbortSignal;
 * - fencing: every write of an attempt checks that the attempt still owns the row, so a
 *   process that was presumed dead but wakes up cannot write after its successor.
 *
 * Enqueueing can join the caller's transaction: the row and its first pg-boss job are then
 * created with the caller's own writes, or not at all.
 */
import { randomUUID } from "node:crypto";
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import PgBoss from "pg-boss";
import type { Db } from "../db/client";
import { executeRows } from "../db/rows";
import { jobs } from "../db/schema";
import { type BossDb, bossDbFor, bossDbInTransaction } from "./boss-db";

export type JobRow = typeof jobs.$inferSelect;
export type JobStatus = JobRow["status"];
export type JobProgress = Record<string, unknown>;

export const UNFINISHED: readonly JobStatus[] = ["queued", "running", "retrying"];

/** Thrown by `commit` when the job was cancelled; the job ends as `cancelled`. */
export class JobCancelled extends Error {
  constructor() {
    super("The job was cancelled.");
  }
}

/** Thrown by `commit` when this attempt no longer owns the job (it was presumed dead). */
export class JobSuperseded extends Error {
  constructor() {
    super("Another attempt of this job has taken over.");
  }
}

/** Thrown by `commit` when the process is shutting down; the job is retried at once. */
export class JobInterrupted extends Error {
  constructor() {
    super("The server stopped while the job ran; it resumes on the next worker.");
  }
}

/** A failure that retrying cannot fix: the job ends as `failed` at once. */
export class PermanentJobError extends Error {}

/** A failure to retry after a delay the handler knows (a Retry-After header, say). */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delaySeconds: number,
  ) {
    super(message);
  }
}

export interface JobContext<T> {
  id: string;
  queue: string;
  data: T;
  organizationId: number | null;
  /** 1 for the first run, 2 for the first retry, ... */
  attempt: number;
  /** The progress last committed, by this attempt or an earlier one. */
  progress: JobProgress;
  /** Aborted when the job is cancelled, superseded, or the process stops. */
  signal: AbortSignal;
  /**
   * Runs `work` in one transaction that then checks that this attempt still owns the job and
   * that it was not cancelled, and stores the progress `work` returns (when it returns one).
   * The check comes last, so the job row is locked only for the end of the transaction (a long
   * `work` does not hold up the heartbeats), yet nothing `work` wrote commits unless the
   * attempt still owned the job at commit. Throws JobCancelled, JobSuperseded or
   * JobInterrupted.
   */
  commit(work: (tx: Db) => Promise<JobProgress | undefined>): Promise<void>;
  /** Stores progress outside any other write (same checks as `commit`). */
  setProgress(progress: JobProgress): Promise<void>;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Seconds to wait before attempt `attempt + 1` after attempt `attempt` failed. */
  delaySeconds(attempt: number): number;
}

/** Exponential backoff with jitter: base, 4x base, 16x base, ... each +-25%. */
export function backoff(attempts: number, baseSeconds: number, maxSeconds = 6 * 3600): RetryPolicy {
  return {
    attempts,
    delaySeconds: (attempt) => {
      const delay = Math.min(maxSeconds, baseSeconds * 4 ** (attempt - 1));
      return Math.max(0, delay * (0.75 + Math.random() / 2));
    },
  };
}

export interface JobDefinition<T> {
  queue: string;
  handler(context: JobContext<T>): Promise<unknown>;
  retry?: RetryPolicy;
  /** Jobs of this queue one process runs at once (default 1). */
  concurrency?: number;
  /** A cron expression: pg-boss creates one job per tick (untracked, no `jobs` row). */
  cron?: string;
  /** Untracked jobs are plain pg-boss jobs: no row, no progress, no cancel (cron ticks). */
  tracked?: boolean;
  /**
   * Runs in the cancel's transaction when a job is cancelled before it ran (the handler, which
   * would otherwise learn of it, never runs).
   */
  cancelled?(tx: Db, data: T): Promise<void>;
  /**
   * Runs in the transaction that marks the job completed (with the handler's result), so what
   * it writes (an outbox event, say) exists exactly when the job ended as completed.
   */
  completed?(tx: Db, job: JobRow, result: unknown): Promise<void>;
  /**
   * Runs in the transaction that marks the job failed: a permanent error, its last attempt's
   * error, or its last attempt's process found dead. Never for a job that is retried.
   */
  failed?(tx: Db, job: JobRow, error: string): Promise<void>;
}

export interface EnqueueOptions {
  organizationId?: number | null;
  /** At most one unfinished job per key: enqueueing again answers the existing job. */
  key?: string;
  /** Seconds to wait before the first attempt. */
  delaySeconds?: number;
  /** Create the job in this transaction (with the caller's other writes). */
  tx?: Db;
}

export interface JobSystemOptions {
  db: Db;
  /** Run this process's workers (false: enqueue and cancel only). */
  work?: boolean;
  /** A running job whose process has not reported for this long is retried (default 30). */
  staleAfterSeconds?: number;
  /** How often idle workers ask for a job (default 1). */
  pollingIntervalSeconds?: number;
  /** The pg-boss schema (default `pgboss`). */
  schema?: string;
  logError?: (id: string, error: unknown) => void;
}

const DEFAULT_RETRY = backoff(3, 5);
// pg-boss's limit on an attempt's pg-boss job (it allows up to 24 hours). A tracked attempt
// outliving it goes on: heartbeats, not pg-boss's expiry, tell whether its process is alive.
const ATTEMPT_EXPIRY_SECONDS = 12 * 3600;

interface Running {
  attempt: number;
  controller: AbortController;
}

type Reason = "cancelled" | "superseded" | "shutdown";

/** The job's row while `claimed`'s attempt still runs it (the fence of every write it makes). */
function stillRunning(claimed: JobRow) {
  return and(
    eq(jobs.id, claimed.id),
    eq(jobs.attempt, claimed.attempt),
    eq(jobs.status, "running"),
  );
}

export class JobSystem {
  readonly db: Db;
  readonly workerId = randomUUID();
  private readonly boss: PgBoss;
  private readonly bossSchema: string;
  private readonly definitions = new Map<string, JobDefinition<never>>();
  private readonly running = new Map<string, Running>();
  private readonly services: { start(): void; stop(): void }[] = [];
  private readonly staleAfterSeconds: number;
  private readonly pollingIntervalSeconds: number;
  private readonly work: boolean;
  private readonly logError: (id: string, error: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;

  constructor(options: JobSystemOptions) {
    this.db = options.db;
    this.work = options.work ?? true;
    this.staleAfterSeconds = options.staleAfterSeconds ?? 30;
    this.pollingIntervalSeconds = options.pollingIntervalSeconds ?? 1;
    this.logError =
      options.logError ?? ((id, error) => console.error(`[taskport] job error ${id}:`, error));
    this.bossSchema = options.schema ?? "pgboss";
    this.boss = new PgBoss({
      db: bossDbFor(options.db) as PgBoss.Db,
      schema: this.bossSchema,
      supervise: this.work,
      schedule: this.work,
    });
    this.boss.on("error", (error) => this.logError(randomUUID(), error));
  }

  /**
   * A loop that runs beside this process's workers (an outbox dispatcher): started with them,
   * stopped before they hand their jobs over. Never started when the process runs no workers.
   */
  attach(service: { start(): void; stop(): void }): this {
    this.services.push(service);
    return this;
  }

  define<T>(definition: JobDefinition<T>): this {
    if (this.started) throw new Error(`define(${definition.queue}) after start()`);
    this.definitions.set(definition.queue, definition as JobDefinition<never>);
    return this;
  }

  /** Migrates pg-boss's schema, creates the queues and, unless `work: false`, starts workers. */
  async start(): Promise<void> {
    await this.boss.start();
    for (const definition of this.definitions.values()) {
      // Processes starting together on a new database create the same queues at once, and
      // pg-boss's create_queue can then deadlock in PostgreSQL (40P01): PostgreSQL aborts one
      // side, which tries again once the other has committed.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.boss.createQueue(definition.queue, {
            name: definition.queue,
            policy: "standard",
            retryLimit: 0,
            expireInSeconds: ATTEMPT_EXPIRY_SECONDS,
          });
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== "40P01" || attempt >= 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        }
      }
    }
    this.started = true;
    if (!this.work) return;
    for (const definition of this.definitions.values()) {
      for (let i = 0; i < (definition.concurrency ?? 1); i++) {
        await this.boss.work<{ jobId?: string }>(
          definition.queue,
          { pollingIntervalSeconds: this.pollingIntervalSeconds },
          ([job]) => (job ? this.execute(definition, job) : Promise.resolve()),
        );
      }
      if (definition.cron) await this.boss.schedule(definition.queue, definition.cron);
    }
    const beatMs = Math.min(10_000, Math.max(250, (this.staleAfterSeconds * 1000) / 6));
    this.timer = setInterval(() => {
      this.beat().catch((error) => this.logError(randomUUID(), error));
    }, beatMs);
    this.timer.unref();
    // A restart finds its predecessor's jobs at once rather than after the first beat.
    await this.beat().catch((error) => this.logError(randomUUID(), error));
    for (const service of this.services) service.start();
  }

  /**
   * Stops taking jobs, interrupts the running ones (each is retried at once, by another
   * process or after this one restarts) and waits for them to hand over.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.work) for (const service of this.services) service.stop();
    for (const queue of this.definitions.keys()) await this.boss.offWork(queue).catch(() => {});
    for (const run of this.running.values()) run.controller.abort("shutdown" satisfies Reason);
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0 && Date.now() < deadline) await sleep(50);
    await this.boss.stop({ graceful: false, wait: true, timeout: 1000 });
  }

  /** Creates a job, or answers the unfinished one holding `options.key`. */
  async enqueue(
    queue: string,
    data: Record<string, unknown>,
    options: EnqueueOptions = {},
  ): Promise<{ job: JobRow; created: boolean }> {
    const definition = this.definitions.get(queue);
    if (!definition) throw new Error(`unknown job queue ${queue}`);
    const run = async (tx: Db) => {
      const id = randomUUID();
      const bossId = randomUUID();
      const [job] = await tx
        .insert(jobs)
        .values({
          id,
          bossId,
          queue,
          organizationId: options.organizationId ?? null,
          key: options.key ?? null,
          data,
          maxAttempts: (definition.retry ?? DEFAULT_RETRY).attempts,
        })
        .onConflictDoNothing()
        .returning();
      if (!job) {
        const [existing] = await tx
          .select()
          .from(jobs)
          .where(and(eq(jobs.key, options.key ?? ""), inArray(jobs.status, [...UNFINISHED])));
        if (!existing) throw new Error(`job ${id} was neither created nor found`);
        return { job: existing, created: false };
      }
      await this.send(tx, queue, id, bossId, options.delaySeconds ?? 0);
      return { job, created: true };
    };
    if (options.tx) return run(options.tx);
    return this.db.transaction((tx) => run(tx as unknown as Db));
  }

  /** Sends one attempt's pg-boss job within `tx`. */
  private async send(
    tx: Db,
    queue: string,
    jobId: string,
    bossId: string,
    delaySeconds: number,
  ): Promise<void> {
    await this.boss.send(
      queue,
      { jobId },
      {
        id: bossId,
        db: bossDbInTransaction(tx) as PgBoss.Db,
        retryLimit: 0,
        expireInSeconds: ATTEMPT_EXPIRY_SECONDS,
        startAfter: Math.ceil(delaySeconds),
      },
    );
  }

  async get(id: string): Promise<JobRow | undefined> {
    const [row] = await this.db.select().from(jobs).where(eq(jobs.id, id));
    return row;
  }

  /**
   * Cancels an unfinished job: a queued or waiting one ends at once; a running one is told
   * through its AbortSignal (at once in this process, within a heartbeat in another) and ends
   * as cancelled at its next `commit`. Answers the row, or undefined for an unknown id.
   */
  async cancel(id: string, tx?: Db): Promise<JobRow | undefined> {
    const run = async (t: Db) => {
      const [row] = await t.select().from(jobs).where(eq(jobs.id, id)).for("update");
      if (!row || !UNFINISHED.includes(row.status)) return row;
      const waiting = row.status !== "running";
      const [updated] = await t
        .update(jobs)
        .set({
          cancelRequestedAt: sql`now()`,
          ...(waiting
            ? { status: "cancelled" as const, finishedAt: sql`now()`, workerId: null }
            : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(jobs.id, id))
        .returning();
      if (waiting) {
        await this.boss.cancel(row.queue, row.bossId, { db: bossDbInTransaction(t) as PgBoss.Db });
        await this.definitions.get(row.queue)?.cancelled?.(t, row.data as never);
      }
      return updated;
    };
    const row = tx ? await run(tx) : await this.db.transaction((t) => run(t as unknown as Db));
    this.running.get(id)?.controller.abort("cancelled" satisfies Reason);
    return row;
  }

  /** One pg-boss delivery: claims the row for this attempt, runs the handler, records the end. */
  private async execute(
    definition: JobDefinition<never>,
    bossJob: PgBoss.Job<{ jobId?: string }>,
  ): Promise<void> {
    if (definition.tracked === false) {
      await definition.handler({
        id: bossJob.id,
        queue: definition.queue,
        data: bossJob.data as never,
        organizationId: null,
        attempt: 1,
        progress: {},
        signal: new AbortController().signal,
        commit: async (work) => {
          await this.db.transaction(async (tx) => {
            await work(tx as unknown as Db);
          });
        },
        setProgress: async () => {},
      });
      return;
    }
    const jobId = bossJob.data.jobId;
    if (!jobId) return;
    if (this.stopping) {
      await this.handOver(definition.queue, jobId, bossJob.id);
      return;
    }
    const [claimed] = await this.db
      .update(jobs)
      .set({
        status: "running",
        attempt: sql`${jobs.attempt} + 1`,
        workerId: this.workerId,
        heartbeatAt: sql`now()`,
        startedAt: sql`coalesce(${jobs.startedAt}, now())`,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(jobs.id, jobId),
          eq(jobs.bossId, bossJob.id),
          inArray(jobs.status, ["queued", "retrying"]),
        ),
      )
      .returning();
    // Cancelled, finished, or an older attempt's pg-boss job: nothing to run.
    if (!claimed) return;
    if (claimed.cancelRequestedAt) {
      await this.finish(claimed, { status: "cancelled" });
      return;
    }
    const controller = new AbortController();
    this.running.set(jobId, { attempt: claimed.attempt, controller });
    const fence = async (tx: Db): Promise<void> => {
      const [row] = await tx
        .update(jobs)
        .set({ heartbeatAt: sql`now()` })
        .where(stillRunning(claimed))
        .returning({ cancelRequestedAt: jobs.cancelRequestedAt });
      if (!row) throw new JobSuperseded();
      if (row.cancelRequestedAt) throw new JobCancelled();
      if (controller.signal.reason === ("shutdown" satisfies Reason)) throw new JobInterrupted();
    };
    const context: JobContext<never> = {
      id: jobId,
      queue: definition.queue,
      data: claimed.data as never,
      organizationId: claimed.organizationId,
      attempt: claimed.attempt,
      progress: claimed.progress,
      signal: controller.signal,
      commit: async (work) => {
        await this.db.transaction(async (t) => {
          const tx = t as unknown as Db;
          const progress = await work(tx);
          await fence(tx);
          if (progress) await tx.update(jobs).set({ progress }).where(eq(jobs.id, jobId));
        });
      },
      setProgress: (progress) => context.commit(async () => progress),
    };
    try {
      const result = await definition.handler(context);
      await this.finish(claimed, { status: "completed", result: result ?? null });
    } catch (error) {
      await this.settleFailure(definition, claimed, error).catch((settleError) =>
        this.logError(randomUUID(), settleError),
      );
    } finally {
      this.running.delete(jobId);
    }
  }

  private async settleFailure(
    definition: JobDefinition<never>,
    claimed: JobRow,
    error: unknown,
  ): Promise<void> {
    if (error instanceof JobSuperseded) return;
    if (error instanceof JobCancelled) {
      await this.finish(claimed, { status: "cancelled" });
      return;
    }
    if (error instanceof JobInterrupted) {
      await this.retry(definition, claimed, 0, null);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (!(error instanceof PermanentJobError) && !(error instanceof RetryLater)) {
      this.logError(claimed.id, error);
    }
    if (error instanceof PermanentJobError || claimed.attempt >= claimed.maxAttempts) {
      await this.finish(claimed, { status: "failed", error: message });
      return;
    }
    const policy = definition.retry ?? DEFAULT_RETRY;
    const delay =
      error instanceof RetryLater ? error.delaySeconds : policy.delaySeconds(claimed.attempt);
    await this.retry(definition, claimed, delay, message);
  }

  /**
   * Ends an attempt, if it still owns the row, running the definition's `completed` or
   * `failed` hook in the same transaction.
   */
  private async finish(
    claimed: JobRow,
    end: { status: "completed" | "failed" | "cancelled"; result?: unknown; error?: string },
  ): Promise<void> {
    const definition = this.definitions.get(claimed.queue);
    await this.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      const [row] = await tx
        .update(jobs)
        .set({
          status: end.status,
          result: end.result ?? null,
          error: end.error ?? null,
          workerId: null,
          finishedAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(stillRunning(claimed))
        .returning();
      if (!row || !definition) return;
      if (end.status === "completed" && definition.completed) {
        await this.hook(tx, row.id, (sp) => definition.completed?.(sp, row, end.result ?? null));
      } else if (end.status === "failed" && definition.failed) {
        await this.hook(tx, row.id, (sp) => definition.failed?.(sp, row, end.error ?? ""));
      }
    });
  }

  /**
   * Runs an end hook in a savepoint of `tx`: a hook that fails is logged and undone, and the
   * job still ends (a hook failing the same way every time would otherwise keep it running).
   */
  private async hook(tx: Db, id: string, run: (tx: Db) => Promise<void> | undefined) {
    try {
      await tx.transaction(async (sp) => {
        await run(sp as unknown as Db);
      });
    } catch (error) {
      this.logError(id, error);
    }
  }

  /** A delivery that arrived while this process stops: its attempt goes to a new pg-boss job. */
  private async handOver(queue: string, jobId: string, bossId: string): Promise<void> {
    await this.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      const next = randomUUID();
      const [row] = await tx
        .update(jobs)
        .set({ bossId: next, updatedAt: sql`now()` })
        .where(
          and(
            eq(jobs.id, jobId),
            eq(jobs.bossId, bossId),
            inArray(jobs.status, ["queued", "retrying"]),
          ),
        )
        .returning();
      if (row) await this.send(tx, queue, jobId, next, 0);
    });
  }

  /** Hands the job to a new attempt (a new pg-boss job), if this attempt still owns it. */
  private async retry(
    definition: JobDefinition<never>,
    claimed: JobRow,
    delaySeconds: number,
    error: string | null,
  ): Promise<void> {
    await this.db.transaction(async (t) => {
      const tx = t as unknown as Db;
      const bossId = randomUUID();
      const [row] = await tx
        .update(jobs)
        .set({ status: "retrying", bossId, error, workerId: null, updatedAt: sql`now()` })
        .where(stillRunning(claimed))
        .returning();
      if (!row) return;
      await this.send(tx, definition.queue, row.id, bossId, delaySeconds);
    });
  }

  /**
   * Every few seconds: marks this process's running jobs as alive (learning of cancellations
   * and takeovers on the way), then retries running jobs whose process stopped reporting.
   */
  private async beat(): Promise<void> {
    if (this.running.size > 0) {
      const ids = [...this.running.keys()];
      const alive = await this.db
        .update(jobs)
        .set({ heartbeatAt: sql`now()` })
        .where(
          and(inArray(jobs.id, ids), eq(jobs.workerId, this.workerId), eq(jobs.status, "running")),
        )
        .returning({
          id: jobs.id,
          attempt: jobs.attempt,
          cancelRequestedAt: jobs.cancelRequestedAt,
        });
      const byId = new Map(alive.map((row) => [row.id, row]));
      for (const [id, run] of this.running) {
        const row = byId.get(id);
        if (!row || row.attempt !== run.attempt)
          run.controller.abort("superseded" satisfies Reason);
        else if (row.cancelRequestedAt) run.controller.abort("cancelled" satisfies Reason);
      }
    }
    await this.reap();
    await this.resend();
  }

  /**
   * Sends again the jobs whose pg-boss job a process fetched but never claimed: it stopped
   * (kill -9, a lost machine) between the two, so the job row is still queued while pg-boss
   * holds its job as active until it expires, hours later. Claims are fenced by the pg-boss
   * job's id, so the old one can no longer start the job.
   */
  private async resend(): Promise<void> {
    const staleBefore = sql`now() - make_interval(secs => ${this.staleAfterSeconds})`;
    for (;;) {
      const sent = await this.db.transaction(async (t) => {
        const tx = t as unknown as Db;
        const [row] = await executeRows<{ id: string; queue: string; boss_id: string }>(
          tx,
          sql`select j.id, j.queue, j.boss_id from ${jobs} j
            join ${sql.identifier(this.bossSchema)}.job b on b.name = j.queue and b.id = j.boss_id
            where j.status in ('queued', 'retrying') and b.state = 'active'
              and b.started_on < ${staleBefore}
            limit 1 for update of j skip locked`,
        );
        if (!row) return false;
        const bossId = randomUUID();
        await tx
          .update(jobs)
          .set({ bossId, updatedAt: sql`now()` })
          .where(and(eq(jobs.id, row.id), eq(jobs.bossId, row.boss_id)));
        await this.boss.cancel(row.queue, row.boss_id, {
          db: bossDbInTransaction(tx) as PgBoss.Db,
        });
        await this.send(tx, row.queue, row.id, bossId, 0);
        return true;
      });
      if (!sent) return;
    }
  }

  /** Retries running jobs whose heartbeat is older than `staleAfterSeconds`. */
  private async reap(): Promise<void> {
    const staleBefore = sql`now() - make_interval(secs => ${this.staleAfterSeconds})`;
    for (;;) {
      const reaped = await this.db.transaction(async (t) => {
        const tx = t as unknown as Db;
        const [row] = await tx
          .select()
          .from(jobs)
          .where(and(eq(jobs.status, "running"), lt(jobs.heartbeatAt, staleBefore)))
          .limit(1)
          .for("update", { skipLocked: true });
        if (!row) return false;
        const definition = this.definitions.get(row.queue);
        const message = "The server running this job stopped; the job resumed on another attempt.";
        if (!definition || row.attempt >= row.maxAttempts) {
          const [failed] = await tx
            .update(jobs)
            .set({
              status: "failed",
              error: definition ? message : `No worker runs the queue ${row.queue}.`,
              workerId: null,
              finishedAt: sql`now()`,
              updatedAt: sql`now()`,
            })
            .where(eq(jobs.id, row.id))
            .returning();
          if (failed && definition?.failed) {
            await this.hook(tx, row.id, (sp) => definition.failed?.(sp, failed, message));
          }
          return true;
        }
        const bossId = randomUUID();
        await tx
          .update(jobs)
          .set({
            status: "retrying",
            bossId,
            error: message,
            workerId: null,
            updatedAt: sql`now()`,
          })
          .where(eq(jobs.id, row.id));
        const db = bossDbInTransaction(tx) as PgBoss.Db;
        // The dead attempt's pg-boss job would otherwise stay active until it expires.
        await this.boss.cancel(row.queue, row.bossId, { db });
        await this.send(tx, row.queue, row.id, bossId, 0);
        return true;
      });
      if (!reaped) return;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type { BossDb };
