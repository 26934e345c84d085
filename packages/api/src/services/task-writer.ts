/**
 * Group commit for task creates. Concurrent creates into one project queue here and are
 * written together: one transaction, one counter update that reserves a block of inner_ids,
 * one multi-row insert. The first create of an idle project is written at once (no added
 * latency); creates that arrive while a write is in flight form the next batch. Each caller
 * still gets its own row or its own error, and only after the transaction has committed.
 *
 * Why: every create into a project must take that project's row lock to get the next inner_id,
 * so one create per transaction caps a project at what one lock holder can commit in sequence
 * (pgbench's counter transaction). Batching pays that cost once per batch instead.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { projects, tasks } from "../db/schema";
import { notFound } from "../errors";

export type TaskRow = typeof tasks.$inferSelect;
export type NewTask = Omit<typeof tasks.$inferInsert, "innerId" | "id">;

const MAX_BATCH = 500;
const PROJECT_NOT_FOUND = "No Project matches the given query.";

interface Pending {
  values: NewTask;
  resolve(row: TaskRow): void;
  reject(error: unknown): void;
}

interface ProjectQueue {
  pending: Pending[];
  running: boolean;
}

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
    queue = { pending: [], running: false };
    queues.set(values.projectId, queue);
  }
  const target = queue;
  const promise = new Promise<TaskRow>((resolve, reject) =>
    target.pending.push({ values, resolve, reject }),
  );
  if (!queue.running) void drain(db, queues, values.projectId, queue);
  return promise;
}

async function drain(
  db: Db,
  queues: Map<number, ProjectQueue>,
  projectId: number,
  queue: ProjectQueue,
) {
  queue.running = true;
  try {
    while (queue.pending.length > 0) {
      const batch = queue.pending.splice(0, MAX_BATCH);
      try {
        const rows = await writeBatch(
          db,
          projectId,
          batch.map((p) => p.values),
        );
        for (const [i, p] of batch.entries()) p.resolve(rows[i] as TaskRow);
      } catch (error) {
        if (batch.length === 1 || isProjectGone(error)) {
          for (const p of batch) p.reject(error);
          continue;
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
  } finally {
    queue.running = false;
    queues.delete(projectId);
  }
}

function isProjectGone(error: unknown): boolean {
  return error instanceof Error && error.message === PROJECT_NOT_FOUND;
}

/** Reserves `values.length` inner_ids under the project's row lock and inserts the rows. */
async function writeBatch(db: Db, projectId: number, values: NewTask[]): Promise<TaskRow[]> {
  const n = values.length;
  return db.transaction(async (tx) => {
    const [counter] = await tx
      .update(projects)
      .set({
        lastInnerId: sql`${projects.lastInnerId} + ${n}`,
        taskNumber: sql`${projects.taskNumber} + ${n}`,
      })
      .where(eq(projects.id, projectId))
      .returning({ last: projects.lastInnerId });
    if (!counter) throw notFound(PROJECT_NOT_FOUND);
    const first = counter.last - n + 1;
    const rows = await tx
      .insert(tasks)
      .values(values.map((v, i) => ({ ...v, innerId: first + i })))
      .returning();
    // Matched by inner_id, not by position: RETURNING's order is not a promise of SQL.
    const byInnerId = new Map(rows.map((r) => [r.innerId, r]));
    return values.map((_, i) => {
      const row = byInnerId.get(first + i);
      if (!row) throw new Error(`inserted task with inner_id ${first + i} was not returned`);
      return row;
    });
  });
}
