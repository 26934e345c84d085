/**
 * Tasks. `createTask` takes a body as sent and checks it in Label Studio's order (the project
 * is looked up before the fields are validated) with the task rules of @taskport/schema, the
 * same rules the import and the web form run; see the contract, section 1.
 */
import {
  checkLabelConfig,
  checkTaskCreate,
  checkTaskUpdate,
  isJsonObject,
  type ObjectTag,
  readProjectRef,
  TASK_BODY_NOT_OBJECT,
  type Task,
  type TaskIssue,
  type TaskList,
  type TaskListInput,
  type TaskUpdateInput,
} from "@taskport/schema";
import { and, asc, desc, eq, getTableColumns, sql, sum } from "drizzle-orm";
import type { z } from "zod";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { projects, tasks } from "../db/schema";
import { transactionDb } from "../db/transaction";
import { issuesError, notFound, validationError } from "../errors";
import { keyedRequest, withIdempotency } from "./idempotency";
import { checkPage, findProject, PROJECT_NOT_FOUND } from "./project";
import { resolveStorageUrls } from "./storage-urls";
import { insertTask } from "./task-writer";
import { emitTasksDeleted } from "./webhook-events";

type TaskRow = typeof tasks.$inferSelect;

export const TASK_NOT_FOUND = "No Task matches the given query.";

/** A refused task, as BAD_REQUEST with its field and key. */
export function taskIssueError(issue: TaskIssue) {
  return issuesError([issue]);
}

export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    data: row.data,
    meta: row.meta,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    is_labeled: row.isLabeled,
    overlap: row.overlap,
    inner_id: row.innerId,
    total_annotations: row.totalAnnotations,
    cancelled_annotations: row.cancelledAnnotations,
    total_predictions: row.totalPredictions,
    comment_count: row.commentCount,
    unresolved_comment_count: row.unresolvedCommentCount,
    last_comment_updated_at: row.lastCommentUpdatedAt,
    project: row.projectId,
    updated_by: row.updatedBy,
    file_upload: row.fileUploadId,
    comment_authors: [],
  };
}

// Parsing XML on every create would cost more than the insert: configs are few and immutable
// as strings, so their object tags are kept by text.
const objectTagsCache = new Map<string, ObjectTag[]>();

export function objectTagsOf(labelConfig: string): ObjectTag[] {
  let tags = objectTagsCache.get(labelConfig);
  if (!tags) {
    const check = checkLabelConfig(labelConfig);
    tags = check.ok ? check.objectTags : [];
    if (objectTagsCache.size >= 256) objectTagsCache.clear();
    objectTagsCache.set(labelConfig, tags);
  }
  return tags;
}

/**
 * Creates a task from a body as sent (REST's, or tRPC's input without its key), checked in
 * Label Studio's order. A keyed create answers its first task when replayed.
 */
export function createTask(
  db: Db,
  actor: Actor,
  body: unknown,
  idempotencyKey?: string,
): Promise<Task> {
  return withIdempotency(db, actor, "task.create", keyedRequest(idempotencyKey, body), (txDb) =>
    createTaskNow(txDb, actor, body),
  );
}

async function createTaskNow(db: Db, actor: Actor, body: unknown): Promise<Task> {
  if (!isJsonObject(body)) throw validationError({}, [TASK_BODY_NOT_OBJECT]);
  const ref = readProjectRef(body.project);
  if (ref.kind === "not-an-id") throw notFound("Not found.");
  if (ref.kind === "no-such-id") throw notFound(PROJECT_NOT_FOUND);
  if (ref.kind === "invalid") throw taskIssueError(ref.issue);
  const project = ref.kind === "id" ? await findProject(db, actor, ref.id) : undefined;
  if (ref.kind === "id" && !project) throw notFound(PROJECT_NOT_FOUND);
  const checked = checkTaskCreate(project ? objectTagsOf(project.labelConfig) : null, body);
  if (!checked.ok) throw taskIssueError(checked.issue);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const { data, meta, overlap } = checked.value;

  // Written with concurrent creates into the same project in one transaction (task-writer.ts).
  const row = await insertTask(db, {
    projectId: project.id,
    data,
    meta,
    overlap: overlap ?? project.maximumAnnotations,
    createdBy: actor.userId,
  });
  return toTask(row);
}

async function findTask(db: Db, actor: Actor, id: number) {
  const [found] = await db
    .select({ task: getTableColumns(tasks), labelConfig: projects.labelConfig })
    .from(tasks)
    .innerJoin(projects, eq(projects.id, tasks.projectId))
    .where(and(eq(tasks.id, id), eq(projects.organizationId, actor.organizationId)));
  return found;
}

export async function getTask(db: Db, actor: Actor, id: number): Promise<Task> {
  const found = await findTask(db, actor, id);
  if (!found) throw notFound(TASK_NOT_FOUND);
  const [task] = await resolveStorageUrls(db, [toTask(found.task)]);
  return task as Task;
}

export async function listTasks(
  db: Db,
  actor: Actor,
  input: z.output<typeof TaskListInput>,
): Promise<TaskList> {
  const project = await findProject(db, actor, input.project);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  checkPage(input, project.taskNumber);
  const [rows, [sums]] = await Promise.all([
    db
      .select()
      .from(tasks)
      .where(eq(tasks.projectId, project.id))
      .orderBy(input.ordering === "-inner_id" ? desc(tasks.innerId) : asc(tasks.innerId))
      .limit(input.page_size)
      .offset((input.page - 1) * input.page_size),
    db
      .select({
        annotations: sum(tasks.totalAnnotations).mapWith(Number),
        predictions: sum(tasks.totalPredictions).mapWith(Number),
      })
      .from(tasks)
      .where(eq(tasks.projectId, project.id)),
  ]);
  return {
    // Media synced from a storage is served by URL (services/storage-urls.ts).
    tasks: await resolveStorageUrls(db, rows.map(toTask)),
    total: project.taskNumber,
    total_annotations: sums?.annotations ?? 0,
    total_predictions: sums?.predictions ?? 0,
  };
}

export async function updateTask(db: Db, actor: Actor, input: TaskUpdateInput): Promise<Task> {
  const found = await findTask(db, actor, input.id);
  if (!found) throw notFound(TASK_NOT_FOUND);
  const checked = checkTaskUpdate(objectTagsOf(found.labelConfig), found.task, input);
  if (!checked.ok) throw taskIssueError(checked.issue);
  const { data, meta, overlap } = checked.value;
  const [row] = await db
    .update(tasks)
    .set({
      data,
      meta,
      overlap,
      isLabeled: overlap === undefined ? undefined : sql`${tasks.totalAnnotations} >= ${overlap}`,
      updatedBy: actor.userId,
      updatedAt: new Date(),
    })
    .where(eq(tasks.id, found.task.id))
    .returning();
  if (!row) throw notFound(TASK_NOT_FOUND);
  return toTask(row);
}

export async function deleteTask(db: Db, actor: Actor, id: number): Promise<void> {
  const found = await findTask(db, actor, id);
  if (!found) throw notFound(TASK_NOT_FOUND);
  await db.transaction(async (tx) => {
    const deleted = await tx
      .delete(tasks)
      .where(eq(tasks.id, found.task.id))
      .returning({ projectId: tasks.projectId });
    const [first] = deleted;
    if (!first) throw notFound(TASK_NOT_FOUND);
    await tx
      .update(projects)
      .set({ taskNumber: sql`${projects.taskNumber} - 1` })
      .where(eq(projects.id, first.projectId));
    await emitTasksDeleted(transactionDb(tx, db), first.projectId, [found.task.id]);
  });
}
