/**
 * Annotations, always within the caller's organization, in Label Studio's shape. One write
 * function per operation (create, bulk create, update, delete); each checks everything before
 * it writes, and writes the annotation and its task's counters in one transaction
 * (./task-counters.ts says why the counters stay right under concurrency).
 */
import {
  type Annotation,
  type AnnotationFields,
  type AnnotationIds,
  createdAgo,
  createdUsername,
  resultErrors,
} from "@taskport/schema";
import { and, asc, eq, inArray, not, notInArray, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { annotations, predictions, projects, tasks, users } from "../db/schema";
import { transactionDb } from "../db/transaction";
import { type InputIssue, issuesError, notFound, validationError } from "../errors";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { resultRulesFor, TASK_NOT_FOUND, toTask } from "./task";
import { lockTasks, refreshTaskCounters } from "./task-counters";
import type { SelectedItems } from "./task-list";
import { batches, emitWebhookEvent } from "./webhook-events";

type AnnotationRow = typeof annotations.$inferSelect;

export const ANNOTATION_NOT_FOUND = "No Annotation matches the given query.";
export const RESULT_NOT_LIST = 'annotation "result" field in annotation must be list';

const invalidPk = (value: number) => `Invalid pk "${value}" - object does not exist.`;

/** An annotation row as Label Studio's AnnotationSerializer writes it. */
export function toAnnotation(row: AnnotationRow, completedByEmail: string | null): Annotation {
  return {
    id: row.id,
    result: row.result as Annotation["result"],
    created_username:
      row.completedBy === null || completedByEmail === null
        ? ""
        : createdUsername({ id: row.completedBy, email: completedByEmail }),
    created_ago: createdAgo(row.createdAt),
    completed_by: row.completedBy,
    was_cancelled: row.wasCancelled,
    ground_truth: row.groundTruth,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    draft_created_at: row.draftCreatedAt,
    lead_time: row.leadTime,
    import_id: row.importId,
    last_action: null,
    bulk_created: row.bulkCreated,
    task: row.taskId,
    project: row.projectId,
    updated_by: row.updatedBy,
    parent_prediction: row.parentPredictionId,
    parent_annotation: row.parentAnnotationId,
    last_created_by: null,
  };
}

/** Annotations with their annotator's email, for `created_username` and expansions. */
export function selectAnnotations(db: Db) {
  return db
    .select({ row: annotations, email: users.email })
    .from(annotations)
    .leftJoin(users, eq(users.id, annotations.completedBy));
}

/**
 * ANNOTATION_CREATED / ANNOTATION_UPDATED (one annotation) or ANNOTATIONS_CREATED (a bulk
 * create's, per project), in the writing transaction after the task counters are refreshed:
 * `{annotation, task, project}` as Label Studio's ACTIONS describe them, lists for the bulk one.
 */
async function emitAnnotationsWritten(
  tx: Db,
  action: "ANNOTATION_CREATED" | "ANNOTATION_UPDATED" | "ANNOTATIONS_CREATED",
  rows: AnnotationRow[],
): Promise<void> {
  for (const projectId of new Set(rows.map((row) => row.projectId))) {
    const ofProject = rows.filter((row) => row.projectId === projectId);
    await emitWebhookEvent(tx, { projectId }, action, async (t) => {
      const taskIds = [...new Set(ofProject.map((row) => row.taskId))];
      const taskRows = await t.select().from(tasks).where(inArray(tasks.id, taskIds));
      const taskById = new Map(taskRows.map((row) => [row.id, toTask(row)]));
      const userIds = [...new Set(ofProject.map((row) => row.completedBy))].filter(
        (id): id is number => id !== null,
      );
      const emails = new Map(
        userIds.length === 0
          ? []
          : (
              await t
                .select({ id: users.id, email: users.email })
                .from(users)
                .where(inArray(users.id, userIds))
            ).map((user) => [user.id, user.email]),
      );
      const wire = (row: AnnotationRow) =>
        toAnnotation(row, row.completedBy === null ? null : (emails.get(row.completedBy) ?? null));
      if (action !== "ANNOTATIONS_CREATED") {
        return ofProject.map((row) => ({
          annotation: wire(row),
          task: taskById.get(row.taskId),
          project: { id: projectId },
        }));
      }
      return batches(ofProject).map((batch) => ({
        annotation: batch.map(wire),
        task: batch.map((row) => taskById.get(row.taskId)),
        project: { id: projectId },
      }));
    });
  }
}

/** The caller's task, or NOT_FOUND. */
async function findTaskOf(db: Db, actor: Actor, taskId: number) {
  const [found] = await db
    .select({ id: tasks.id })
    .from(tasks)
    .innerJoin(projects, eq(projects.id, tasks.projectId))
    .where(and(eq(tasks.id, taskId), eq(projects.organizationId, actor.organizationId)));
  if (!found) throw notFound(TASK_NOT_FOUND);
  return found;
}

/** The caller's annotation (any organization's other annotation is the same 404). */
async function findAnnotationRow(db: Db, actor: Actor, id: number) {
  const [found] = await db
    .select({ row: annotations })
    .from(annotations)
    .innerJoin(projects, eq(projects.id, annotations.projectId))
    .where(and(eq(annotations.id, id), eq(projects.organizationId, actor.organizationId)));
  if (!found) throw notFound(ANNOTATION_NOT_FOUND);
  return found.row;
}

async function emailOf(db: Db, userId: number | null): Promise<string | null> {
  if (userId === null) return null;
  const [user] = await db.select({ email: users.email }).from(users).where(eq(users.id, userId));
  return user?.email ?? null;
}

/**
 * The fields of a create or update, checked against the task's project and the caller's
 * organization; every problem is reported at once, under its field.
 */
async function checkFields(
  db: Db,
  actor: Actor,
  labelConfig: string,
  fields: AnnotationFields,
): Promise<void> {
  const issues: InputIssue[] = [];
  if (fields.result !== undefined) {
    if (!Array.isArray(fields.result)) {
      issues.push({ field: "result", message: RESULT_NOT_LIST });
    } else {
      const errors = resultErrors(resultRulesFor(labelConfig), fields.result);
      for (const message of errors) issues.push({ field: "result", message });
    }
  }
  const refs = [
    ["completed_by", fields.completed_by],
    ["parent_prediction", fields.parent_prediction],
    ["parent_annotation", fields.parent_annotation],
  ] as const;
  for (const [field, value] of refs) {
    if (value === undefined || value === null) continue;
    if (!(await belongs(db, actor, field, value))) {
      issues.push({ field, message: invalidPk(value) });
    }
  }
  if (issues.length > 0) throw issuesError(issues);
}

/** Whether a referenced user, prediction or annotation is the caller organization's. */
async function belongs(
  db: Db,
  actor: Actor,
  field: "completed_by" | "parent_prediction" | "parent_annotation",
  id: number,
): Promise<boolean> {
  if (field === "completed_by") {
    const [user] = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, id), eq(users.organizationId, actor.organizationId)));
    return Boolean(user);
  }
  const table = field === "parent_prediction" ? predictions : annotations;
  const [found] = await db
    .select({ id: table.id })
    .from(table)
    .innerJoin(projects, eq(projects.id, table.projectId))
    .where(and(eq(table.id, id), eq(projects.organizationId, actor.organizationId)));
  return Boolean(found);
}

/** The stored columns a create or update sets from its fields. */
function columnsOf(fields: AnnotationFields) {
  return {
    result: fields.result as unknown[] | undefined,
    wasCancelled: fields.was_cancelled,
    groundTruth: fields.ground_truth,
    leadTime: fields.lead_time,
    completedBy: fields.completed_by,
    draftCreatedAt: fields.draft_created_at,
    importId: fields.import_id,
    parentPredictionId: fields.parent_prediction,
    parentAnnotationId: fields.parent_annotation,
  };
}

/** `GET /api/tasks/{id}/annotations/`: the task's annotations that were not cancelled, by id. */
export async function listAnnotations(db: Db, actor: Actor, taskId: number): Promise<Annotation[]> {
  await findTaskOf(db, actor, taskId);
  const rows = await selectAnnotations(db)
    .where(and(eq(annotations.taskId, taskId), not(annotations.wasCancelled)))
    .orderBy(asc(annotations.id));
  return rows.map(({ row, email }) => toAnnotation(row, email));
}

export async function getAnnotation(db: Db, actor: Actor, id: number): Promise<Annotation> {
  const row = await findAnnotationRow(db, actor, id);
  return toAnnotation(row, await emailOf(db, row.completedBy));
}

/**
 * Creates an annotation on a task (`completed_by` defaults to the caller). `wasCancelled`
 * is the `was_cancelled` query parameter, which wins over the body as in Label Studio.
 */
export async function createAnnotation(
  db: Db,
  actor: Actor,
  input: AnnotationFields & { task: number; wasCancelled?: boolean },
): Promise<Annotation> {
  const row = await db.transaction(async (raw) => {
    const tx = transactionDb(raw, db);
    const [task] = await lockTasks(tx, actor.organizationId, [input.task]);
    if (!task) throw notFound(TASK_NOT_FOUND);
    await checkFields(tx, actor, task.labelConfig, input);
    const columns = columnsOf(input);
    const [created] = await tx
      .insert(annotations)
      .values({
        ...columns,
        result: columns.result ?? [],
        wasCancelled: input.wasCancelled ?? columns.wasCancelled,
        completedBy: columns.completedBy === undefined ? actor.userId : columns.completedBy,
        updatedBy: actor.userId,
        taskId: task.id,
        projectId: task.projectId,
      })
      .returning();
    if (!created) throw new Error("annotation insert returned no row");
    await refreshTaskCounters(tx, [task.id], actor.userId);
    await emitAnnotationsWritten(tx, "ANNOTATION_CREATED", [created]);
    return created;
  });
  return toAnnotation(row, await emailOf(db, row.completedBy));
}

export type BulkAnnotationInput = AnnotationFields & {
  tasks?: number[];
  selected_items?: SelectedItems;
  project?: number;
};

/**
 * `POST /api/annotations/bulk/`: the same annotation on many tasks (`tasks`, or
 * `selected_items` of `project`), marked `bulk_created`; all or nothing.
 */
export async function createAnnotationsBulk(
  db: Db,
  actor: Actor,
  input: BulkAnnotationInput,
): Promise<z.infer<typeof AnnotationIds>> {
  const ids = await bulkTaskIds(db, actor, input);
  if (ids.length === 0) return [];
  return db.transaction(async (raw) => {
    const tx = transactionDb(raw, db);
    const locked = await lockTasks(tx, actor.organizationId, ids);
    if (locked.length !== new Set(ids).size) {
      const found = new Set(locked.map((task) => task.id));
      const missing = ids.find((id) => !found.has(id)) as number;
      throw validationError({ tasks: [invalidPk(missing)] });
    }
    const configs = new Set(locked.map((task) => task.labelConfig));
    for (const config of configs) await checkFields(tx, actor, config, input);
    const columns = columnsOf(input);
    const created = await tx
      .insert(annotations)
      .values(
        locked.map((task) => ({
          ...columns,
          result: columns.result ?? [],
          completedBy: columns.completedBy === undefined ? actor.userId : columns.completedBy,
          updatedBy: actor.userId,
          bulkCreated: true,
          taskId: task.id,
          projectId: task.projectId,
        })),
      )
      .returning();
    await refreshTaskCounters(
      tx,
      locked.map((task) => task.id),
      actor.userId,
    );
    await emitAnnotationsWritten(tx, "ANNOTATIONS_CREATED", created);
    return created.map(({ id }) => ({ id }));
  });
}

async function bulkTaskIds(db: Db, actor: Actor, input: BulkAnnotationInput): Promise<number[]> {
  if (input.tasks) return [...new Set(input.tasks)];
  const selected = input.selected_items;
  if (!selected) {
    throw validationError({}, ["Either tasks or selected_items (with project) is required."]);
  }
  if (input.project === undefined) throw validationError({ project: ["This field is required."] });
  const project = await findProject(db, actor, input.project);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const which = selected.all
    ? selected.excluded?.length
      ? notInArray(tasks.id, selected.excluded)
      : undefined
    : inArray(tasks.id, selected.included?.length ? selected.included : [0]);
  const rows = await db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.projectId, project.id), which))
    .orderBy(asc(tasks.id));
  return rows.map((row) => row.id);
}

/**
 * Changes an annotation. A `ground_truth: true` takes the mark from the task's other
 * annotations, as Label Studio keeps one ground truth per task.
 */
export async function updateAnnotation(
  db: Db,
  actor: Actor,
  input: AnnotationFields & { id: number },
): Promise<Annotation> {
  const current = await findAnnotationRow(db, actor, input.id);
  const row = await db.transaction(async (raw) => {
    const tx = transactionDb(raw, db);
    const [task] = await lockTasks(tx, actor.organizationId, [current.taskId]);
    if (!task) throw notFound(ANNOTATION_NOT_FOUND);
    await checkFields(tx, actor, task.labelConfig, input);
    if (input.ground_truth === true) {
      await tx
        .update(annotations)
        .set({ groundTruth: false })
        .where(and(eq(annotations.taskId, task.id), sql`${annotations.id} <> ${current.id}`));
    }
    const [updated] = await tx
      .update(annotations)
      .set({ ...columnsOf(input), updatedBy: actor.userId, updatedAt: new Date() })
      .where(eq(annotations.id, current.id))
      .returning();
    if (!updated) throw notFound(ANNOTATION_NOT_FOUND);
    await refreshTaskCounters(tx, [task.id], actor.userId);
    await emitAnnotationsWritten(tx, "ANNOTATION_UPDATED", [updated]);
    return updated;
  });
  return toAnnotation(row, await emailOf(db, row.completedBy));
}

export async function deleteAnnotation(db: Db, actor: Actor, id: number): Promise<void> {
  const current = await findAnnotationRow(db, actor, id);
  await db.transaction(async (raw) => {
    const tx = transactionDb(raw, db);
    const [task] = await lockTasks(tx, actor.organizationId, [current.taskId]);
    if (!task) throw notFound(ANNOTATION_NOT_FOUND);
    const deleted = await tx
      .delete(annotations)
      .where(eq(annotations.id, current.id))
      .returning({ id: annotations.id });
    if (deleted.length === 0) throw notFound(ANNOTATION_NOT_FOUND);
    await refreshTaskCounters(tx, [task.id], actor.userId);
    await emitWebhookEvent(tx, { projectId: task.projectId }, "ANNOTATIONS_DELETED", () => [
      { annotations: [{ id: current.id }], project: { id: task.projectId } },
    ]);
  });
}
