/**
 * Group commit for task creates. Concurrent creates into one project queue here and are
 * written together: one statement that reserves a block of inner_ids under the project's row
 * lock and inserts the rows. The first create of an idle project is written at once (no added
 * latency); creates that arrive while writes are in flight form the next batch. Each caller
 * still gets its own row or its own error, and only after the statement has committed.
 *
 * Why: every create into a project must take that project's row lock to get the next inner_id,
 * so one create per transaction caps a project at what one lock holder can commit in sequence
 * (pgbench's counter transaction). Batching pays that cost once per batch instead.
 */
import { TRPCError } from "@trpc/server";
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type InsertExpressions, selectList } from "../db/insert-select";
import { tasks } from "../db/schema";
import { notFound } from "../errors";
import { PROJECT_NOT_FOUND } from "./project";
import { withTasksCreated } from "./webhook-events";

export type TaskRow = typeof tasks.$inferSelect;
export type NewTask = Pick<
  typeof tasks.$inferInsert,
  "projectId" | "data" | "meta" | "overlap" | "createdBy"
> & { overlap: number };

const MAX_BATCH = 500;

interface Pending {
  values: NewTask;
  resolve(row: TaskRow): void;
  reject(error: unknown): void;
}

interface ProjectQueue {
  pending: Pending[];
  inFlight: number;
}

// Batches of one project in flight at once. They still take the project's row lock one after
// another, but the next one is already waiting on the lock when the previous commits, so the
// lock is not left idle while a batch's answer travels back through a busy event loop.
const MAX_IN_FLIGHT = 3;

const queuesByDb = new WeakMap<Db, Map<number, ProjectQueue>>();

/** Inserts one task with the project's next inner_id; resolves once it is committed. */
export function insertTask(db: Db, values: NewTask): Promise<TaskRow> {
  let queues = queuesByDb.get(db);
  if (!queues) {
    queues = new Map();
    queuesByDb.set(db, queues);
  }
  let queue = queues.get(values.projectId);
  if (!queue) {
    queue = { pending: [], inFlight: 0 };
    queues.set(values.projectId, queue);
  }
  const target = queue;
  const promise = new Promise<TaskRow>((resolve, reject) =>
    target.pending.push({ values, resolve, reject }),
  );
  pump(db, queues, values.projectId, queue);
  return promise;
}

function pump(db: Db, queues: Map<number, ProjectQueue>, projectId: number, queue: ProjectQueue) {
  while (queue.pending.length > 0 && queue.inFlight < MAX_IN_FLIGHT) {
    const batch = queue.pending.splice(0, MAX_BATCH);
    queue.inFlight += 1;
    void writeAndSettle(db, projectId, batch).finally(() => {
      queue.inFlight -= 1;
      if (queue.pending.length > 0) pump(db, queues, projectId, queue);
      else if (queue.inFlight === 0 && queues.get(projectId) === queue) queues.delete(projectId);
    });
  }
}

async function writeAndSettle(db: Db, projectId: number, batch: Pending[]): Promise<void> {
  try {
    const rows = await writeBatch(
      db,
      projectId,
      batch.map((p) => p.values),
    );
    for (const [i, p] of batch.entries()) p.resolve(rows[i] as TaskRow);
  } catch (error) {
    // A project deleted meanwhile fails every row alike: no point retrying them one by one.
    if (batch.length === 1 || (error instanceof TRPCError && error.code === "NOT_FOUND")) {
      for (const p of batch) p.reject(error);
      return;
    }
    // One row's failure must not fail the others: write them one by one to find it.
    for (const p of batch) {
      try {
        const [row] = await writeBatch(db, projectId, [p.values]);
        p.resolve(row as TaskRow);
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
 * Reserves `values.length` inner_ids under the project's row lock and inserts the rows, in one
 * statement: the counter UPDATE is a data-modifying CTE that the INSERT reads its numbers from.
 * One statement is one round trip and its own transaction (or part of the caller's), where
 * BEGIN, UPDATE, INSERT and COMMIT were four, each waiting its turn in a busy event loop.
 */
function writeBatch(db: Db, projectId: number, values: NewTask[]): Promise<TaskRow[]> {
  // With the TASKS_CREATED events of webhooks that want them, in the same transaction.
  return withTasksCreated(db, projectId, (tx) => insertBatch(tx, projectId, values));
}

async function insertBatch(db: Db, projectId: number, values: NewTask[]): Promise<TaskRow[]> {
  const n = values.length;
  const counter = db.$with("counter", { first: sql<number>`first` }).as(
    sql`update projects set last_inner_id = last_inner_id + ${n}, task_number = task_number + ${n}
        where id = ${projectId} returning last_inner_id - ${n} as first`,
  );
  // The rows travel as one JSON array, expanded by jsonb_array_elements.
  const items = JSON.stringify(values.map((v) => [v.data, v.meta ?? {}, v.overlap, v.createdBy]));
  const rows = await db
    .with(counter)
    .insert(tasks)
    .select(
      sql`select ${taskColumns({
        projectId: sql`${projectId}::int`,
        innerId: sql`counter.first + r.ord`,
        data: sql`r.item->0`,
        meta: sql`r.item->1`,
        overlap: sql`(r.item->>2)::int`,
        createdBy: sql`(r.item->>3)::int`,
      })}
          from counter, jsonb_array_elements(${items}::jsonb) with ordinality as r(item, ord)`,
    )
    .returning();
  if (rows.length === 0) throw notFound(PROJECT_NOT_FOUND);
  const first = Math.min(...rows.map((r) => r.innerId));
  // Matched by inner_id, not by position: RETURNING's order is not a promise of SQL.
  const byInnerId = new Map(rows.map((r) => [r.innerId, r]));
  return values.map((_, i) => {
    const row = byInnerId.get(first + i);
    if (!row) throw new Error(`inserted task with inner_id ${first + i} was not returned`);
    return row;
  });
}
