/**
 * A task's counters (`total_annotations`, `cancelled_annotations`, `total_predictions`,
 * `is_labeled`), kept by every annotation and prediction write in its own transaction.
 *
 * Why they stay right under concurrency: each write first locks its tasks' rows (in id order,
 * so two writes never wait on each other in a cycle), then changes annotations or predictions,
 * then recounts. In READ COMMITTED every statement takes a new snapshot, and the recount
 * starts after the lock was granted, so it sees every annotation committed by earlier writers
 * of the task; later writers wait for our commit before they count. Counting (rather than
 * adding one) also heals a counter that anything else ever left wrong.
 */
import { type AnyColumn, and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { projects, tasks } from "../db/schema";

/**
 * Label Studio's `is_labeled`: the task's annotations that were not cancelled reach its
 * overlap (the project's `maximum_annotations` unless set per task). One expression, used by
 * every path that moves the counters or the overlap.
 */
export const isLabeledSql = (total: SQL | AnyColumn, overlap: SQL | AnyColumn = tasks.overlap) =>
  sql<boolean>`(${total}) >= (${overlap})`;

/**
 * Locks the caller's tasks among `ids` (FOR UPDATE, in id order) and returns them with their
 * project's label config. Tasks of another organization are left alone and not returned.
 */
export async function lockTasks(db: Db, organizationId: number, ids: readonly number[]) {
  if (ids.length === 0) return [];
  return db
    .select({
      id: tasks.id,
      projectId: tasks.projectId,
      labelConfig: projects.labelConfig,
    })
    .from(tasks)
    .innerJoin(projects, eq(projects.id, tasks.projectId))
    .where(and(inArray(tasks.id, [...ids]), eq(projects.organizationId, organizationId)))
    .orderBy(asc(tasks.id))
    .for("update", { of: tasks });
}

/** Recounts the tasks' counters from the rows (their rows must be locked by `lockTasks`). */
export async function refreshTaskCounters(
  db: Db,
  ids: readonly number[],
  updatedBy: number | null,
): Promise<void> {
  if (ids.length === 0) return;
  // Named explicitly: Drizzle leaves columns unqualified in an UPDATE, where "id" inside a
  // subquery would mean the subquery's own.
  const T = sql.raw(`"tasks".id`);
  const done = sql`(select count(*) from annotations a where a.task_id = ${T} and not a.was_cancelled)::int`;
  await db
    .update(tasks)
    .set({
      totalAnnotations: done,
      cancelledAnnotations: sql`(select count(*) from annotations a where a.task_id = ${T} and a.was_cancelled)::int`,
      totalPredictions: sql`(select count(*) from predictions p where p.task_id = ${T})::int`,
      isLabeled: isLabeledSql(done),
      updatedAt: sql`now()`,
      ...(updatedBy === null ? {} : { updatedBy }),
    })
    .where(inArray(tasks.id, [...ids]));
}
