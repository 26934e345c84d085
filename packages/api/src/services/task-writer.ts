/**
 * Group commit for task creates. Concurrent creates queue here and are written together, into
 * any number of projects: one statement that takes the projects' row locks in id order,
 * reserves a block of inner_ids in each, and inserts the rows. The first create of an idle
 * writer is written at once (no added latency); creates that arrive while writes are in flight
 * form the next batch. Each caller still gets its own row or its own error, and only after the
 * statement has committed.
 *
 * Why: every create into a project must take that project's row lock to get the next inner_id,
 * so one create per transaction caps a project at what one lock holder can commit in sequence
 * (pgbench's counter transaction), and creates spread over many projects would each pay a
 * statement of their own. Batching pays that cost once per batch. Locks are taken in project
 * id order, so two batches that share projects queue on the first of them instead of
 * deadlocking. They are FOR NO KEY UPDATE, what the counter's UPDATE takes anyway: rows that
 * merely reference the project (an import's file_uploads row, before its final step) do not
 * hold creates back.
 *
 * A create is checked against its project's label config before it is queued (possibly from a
 * cached copy, services/task.ts); the statement writes it only if the project still has that
 * config (its md5, compared under the row lock), otherwise the create fails with
 * StaleProjectError and is checked again against the project as it now is.
 */
import { type SQL, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { Db } from "../db/client";
import { type InsertExpressions, selectList } from "../db/insert-select";
import { prepared } from "../db/prepared";
import { tasks } from "../db/schema";
import { databaseOutage, pgErrorCode } from "../errors";
import {
  eventsWritten,
  tasksCreatedEvents,
  tasksCreatedReported,
  tasksCreatedWanted,
} from "./webhook-events";

export type TaskRow = typeof tasks.$inferSelect;

export interface NewTask {
  projectId: number;
  data: Record<string, unknown>;
  meta: Record<string, unknown>;
  /** Null: the project's maximum_annotations, read under its lock. */
  overlap: number | null;
  createdBy: number;
  /** md5 (hex) of the label config the task was checked against. */
  configHash: string;
}

/** The project was deleted, or its label config changed, after the task was checked. */
export class StaleProjectError extends Error {
  constructor(readonly projectId: number) {
    super(`project ${projectId} changed since the task was checked`);
    this.name = "StaleProjectError";
  }
}

const MAX_BATCH = 500;

// Batches in flight at once. Batches that share a project take its row lock one after
// another, but the next one is already waiting on the lock when the previous commits, so the
// lock is not left idle while a batch's answer travels back through a busy event loop.
const MAX_IN_FLIGHT = 3;

// Creates of a reported project that must wait before a further batch of it is written while
// one is in flight (see takeBatch). Chosen with `pnpm bench --part webhooks` (64 in flight).
const REPORTED_BATCH_MIN = 32;

interface Pending {
  values: NewTask;
  resolve(row: TaskRow): void;
  reject(error: unknown): void;
}

interface Queue {
  pending: Pending[];
  inFlight: number;
  /** Projects with a batch in flight that writes TASKS_CREATED events (see takeBatch). */
  reporting: Map<number, number>;
}

const queuesByDb = new WeakMap<Db, Queue>();

/** Inserts one task with its project's next inner_id; resolves once it is committed. */
export function insertTask(db: Db, values: NewTask): Promise<TaskRow> {
  let queue = queuesByDb.get(db);
  if (!queue) {
    queue = { pending: [], inFlight: 0, reporting: new Map() };
    queuesByDb.set(db, queue);
  }
  const target = queue;
  const promise = new Promise<TaskRow>((resolve, reject) =>
    target.pending.push({ values, resolve, reject }),
  );
  pump(db, queue);
  return promise;
}

/**
 * The next batch: up to MAX_BATCH creates in arrival order, all of a project's checked against
 * the same label config (a create checked against another waits for the next batch).
 *
 * A project whose creates some webhook reports (TASKS_CREATED) writes a further batch while one
 * is in flight only once REPORTED_BATCH_MIN of its creates wait: until then they wait and go
 * together, so that every batch, and so every event and every delivery, carries more tasks. One
 * event and one delivery per batch of a few tasks cost more CPU than the creates themselves;
 * with a busy project, the further batch keeps its row lock from idling between batches.
 */
function takeBatch(queue: Queue): Pending[] {
  const batch: Pending[] = [];
  const rest: Pending[] = [];
  const hashes = new Map<number, string>();
  const waiting = new Map<number, number>();
  if (queue.reporting.size > 0)
    for (const p of queue.pending)
      if (queue.reporting.has(p.values.projectId))
        waiting.set(p.values.projectId, (waiting.get(p.values.projectId) ?? 0) + 1);
  for (const p of queue.pending) {
    const hash = hashes.get(p.values.projectId);
    if (
      batch.length < MAX_BATCH &&
      (hash === undefined || hash === p.values.configHash) &&
      (waiting.get(p.values.projectId) ?? REPORTED_BATCH_MIN) >= REPORTED_BATCH_MIN
    ) {
      hashes.set(p.values.projectId, p.values.configHash);
      batch.push(p);
    } else rest.push(p);
  }
  queue.pending = rest;
  return batch;
}

function pump(db: Db, queue: Queue) {
  while (queue.pending.length > 0 && queue.inFlight < MAX_IN_FLIGHT) {
    const batch = takeBatch(queue);
    if (batch.length === 0) return;
    const reported = [...new Set(batch.map((p) => p.values.projectId))].filter(
      tasksCreatedReported,
    );
    for (const id of reported) queue.reporting.set(id, (queue.reporting.get(id) ?? 0) + 1);
    queue.inFlight += 1;
    void writeAndSettle(db, batch).finally(() => {
      for (const id of reported) {
        const n = (queue.reporting.get(id) ?? 1) - 1;
        if (n > 0) queue.reporting.set(id, n);
        else queue.reporting.delete(id);
      }
      queue.inFlight -= 1;
      if (queue.pending.length > 0) pump(db, queue);
      else if (queue.inFlight === 0 && queuesByDb.get(db) === queue) queuesByDb.delete(db);
    });
  }
}

// A batch PostgreSQL aborted to break a deadlock wrote nothing and is written again, this many
// times at most. Another transaction that holds a weaker lock on a project row and then asks
// for a stronger one, while a batch queues for that row, forms such a deadlock.
const DEADLOCK_RETRIES = 3;

/** writeBatch, again after a deadlock abort, unless it runs in a caller's transaction. */
async function writeRetrying(db: Db, values: NewTask[]): Promise<(TaskRow | null)[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeBatch(db, values);
    } catch (error) {
      // Inside a caller's transaction the abort ended that transaction: the caller decides.
      const retry =
        pgErrorCode(error) === "40P01" &&
        attempt <= DEADLOCK_RETRIES &&
        !(db instanceof PgTransaction);
      if (!retry) throw error;
    }
  }
}

async function writeAndSettle(db: Db, batch: Pending[]): Promise<void> {
  const settle = (p: Pending, row: TaskRow | null) =>
    row ? p.resolve(row) : p.reject(new StaleProjectError(p.values.projectId));
  try {
    const rows = await writeRetrying(
      db,
      batch.map((p) => p.values),
    );
    for (const [i, p] of batch.entries()) settle(p, rows[i] ?? null);
  } catch (error) {
    // A database outage fails the whole batch at once. Writing its creates again one by one
    // would wait out the outage's bounds once per create, and a batch whose answer was lost
    // may have committed: written again, its tasks would be there twice.
    if (batch.length === 1 || databaseOutage(error) !== undefined) {
      for (const p of batch) p.reject(error);
      return;
    }
    // One row's failure must not fail the others: write them one by one to find it.
    for (const p of batch) {
      try {
        const [row] = await writeRetrying(db, [p.values]);
        settle(p, row ?? null);
      } catch (single) {
        p.reject(single);
      }
    }
  }
}

/**
 * The SELECT list of an insert into `tasks` (the batch write here and the import's): the
 * columns a new task takes from its writer, and the computed ones at their starting values.
 */
export function taskColumns(
  given: Pick<
    InsertExpressions<typeof tasks>,
    "projectId" | "innerId" | "data" | "meta" | "overlap" | "createdBy"
  > &
    Partial<InsertExpressions<typeof tasks>>,
): SQL {
  return selectList(tasks, {
    id: sql`nextval(pg_get_serial_sequence('tasks', 'id'))`,
    isLabeled: sql`false`,
    totalAnnotations: sql`0`,
    cancelledAnnotations: sql`0`,
    totalPredictions: sql`0`,
    commentCount: sql`0`,
    unresolvedCommentCount: sql`0`,
    lastCommentUpdatedAt: sql`null::timestamptz`,
    fileUploadId: sql`null::bigint`,
    updatedBy: sql`null::int`,
    createdAt: sql`now()`,
    updatedAt: sql`now()`,
    ...given,
  });
}

/**
 * The batch statement, built and prepared once per database. The rows travel as one JSON
 * array (one parameter, whatever the batch size); `locked` takes the projects' row locks in id
 * order before `counter` moves each project's counter by its number of rows, provided the
 * project still has the label config the rows were checked against; the INSERT numbers each
 * project's rows from its counter in arrival order. One statement is one round trip and its
 * own transaction (or part of the caller's), where BEGIN, UPDATE, INSERT and COMMIT were four,
 * each waiting its turn in a busy event loop.
 *
 * `withEvents`: the variant for batches into projects that some webhook may want TASKS_CREATED
 * of. Its INSERT is a CTE (`written`) and a second one writes the events of those rows
 * (webhook-events.ts), so the events cost no round trip, no payload built here and no
 * transaction held open across round trips with the projects' row locks taken.
 */
function batchStatement(db: Db, withEvents: boolean) {
  const name = withEvents ? "insert_task_batch_events" : "insert_task_batch";
  return prepared(db, name, (d) => {
    const items = d.$with("items", { projectId: sql<number>`project_id` }).as(
      sql`select (r.item->>0)::int as project_id, r.item->1 as data, r.item->2 as meta,
            (r.item->>3)::int as overlap, (r.item->>4)::int as created_by,
            r.item->>5 as config_hash, r.ord
          from jsonb_array_elements(${sql.placeholder("items")}::jsonb) with ordinality as r(item, ord)`,
    );
    const wanted = d.$with("wanted", { projectId: sql<number>`project_id` }).as(
      sql`select project_id, count(*)::int as n, min(config_hash) as config_hash
          from items group by project_id`,
    );
    const locked = d.$with("locked", { id: sql<number>`id` }).as(
      sql`select p.id from projects p where p.id in (select project_id from wanted)
          order by p.id for no key update`,
    );
    const counter = d.$with("counter", { id: sql<number>`id` }).as(
      sql`update projects p
          set last_inner_id = p.last_inner_id + w.n, task_number = p.task_number + w.n
          from wanted w join locked l on l.id = w.project_id
          where p.id = w.project_id and md5(p.label_config) = w.config_hash
          returning p.id, p.last_inner_id - w.n as first, p.maximum_annotations`,
    );
    const rows = sql`select ${taskColumns({
      projectId: sql`i.project_id`,
      innerId: sql`c.first + row_number() over (partition by i.project_id order by i.ord)`,
      data: sql`i.data`,
      meta: sql`i.meta`,
      overlap: sql`coalesce(i.overlap, c.maximum_annotations)`,
      createdBy: sql`i.created_by`,
    })}
      from items i join counter c on c.id = i.project_id`;
    if (!withEvents)
      return d
        .with(items, wanted, locked, counter)
        .insert(tasks)
        .select(rows)
        .returning()
        .prepare(name);
    const written = d.$with("written").as(d.insert(tasks).select(rows).returning());
    const events = d.$with("events", {}).as(tasksCreatedEvents());
    return d
      .with(items, wanted, locked, counter, written, events)
      .select()
      .from(written)
      .prepare(name);
  });
}

/**
 * Writes `values` in one statement, with the TASKS_CREATED events of the webhooks that want
 * them. Returns each one's row, in order, or null where its project is gone or no longer has
 * the label config it was checked against.
 */
async function writeBatch(db: Db, values: NewTask[]): Promise<(TaskRow | null)[]> {
  const withEvents = await tasksCreatedWanted(db, new Set(values.map((v) => v.projectId)));
  const rows = await insertBatch(db, values, withEvents);
  if (withEvents) eventsWritten();
  return rows;
}

async function insertBatch(
  db: Db,
  values: NewTask[],
  withEvents: boolean,
): Promise<(TaskRow | null)[]> {
  const items = JSON.stringify(
    values.map((v) => [v.projectId, v.data, v.meta, v.overlap, v.createdBy, v.configHash]),
  );
  const rows: TaskRow[] = await batchStatement(db, withEvents).execute({ items });
  // Matched by project and inner_id, not by position: RETURNING's order is not a promise of
  // SQL. A project's rows are numbered from its first in the order they were given.
  const byKey = new Map<string, TaskRow>();
  const first = new Map<number, number>();
  for (const row of rows) {
    byKey.set(`${row.projectId}:${row.innerId}`, row);
    first.set(row.projectId, Math.min(first.get(row.projectId) ?? row.innerId, row.innerId));
  }
  const seen = new Map<number, number>();
  return values.map((v) => {
    const start = first.get(v.projectId);
    if (start === undefined) return null;
    const k = seen.get(v.projectId) ?? 0;
    seen.set(v.projectId, k + 1);
    const row = byKey.get(`${v.projectId}:${start + k}`);
    if (!row) throw new Error(`inserted task ${v.projectId}:${start + k} was not returned`);
    return row;
  });
}
