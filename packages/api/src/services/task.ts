/**
 * Tasks. `createTask` checks a raw body in Label Studio's order (the project is looked up
 * before the fields are validated) and with its messages, so the tRPC and REST surfaces answer
 * alike; see the contract, section 1.
 */
import {
  checkLabelConfig,
  findJsonLimitExceeded,
  findUnstorableString,
  isJsonObject,
  MAX_INT_ID,
  type ObjectTag,
  TASK_BODY_NOT_OBJECT,
  type Task,
  type TaskList,
  type TaskListInput,
  type TaskUpdateInput,
  taskDataError,
} from "@taskport/schema";

import { and, asc, desc, eq, getTableColumns, sql, sum } from "drizzle-orm";
import type { z } from "zod";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { projects, tasks } from "../db/schema";
import { issuesError, notFound, validationError } from "../errors";
import { keyedRequest, withIdempotency } from "./idempotency";
import { checkPage, findProject, PROJECT_NOT_FOUND } from "./project";
import { insertTask } from "./task-writer";

type TaskRow = typeof tasks.$inferSelect;

export const TASK_NOT_FOUND = "No Task matches the given query.";
const DATA_SUFFIX = ' [assume: item["data"] = task root with values]';

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

/** A primary key as Label Studio accepts one: a JSON integer or a string of digits. */
function parseId(raw: unknown): number | null {
  if (typeof raw === "number" && Number.isInteger(raw)) return raw;
  if (typeof raw === "string" && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
  return null;
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

/** The data and meta rules shared by create and update (contract section 1, points 6 to 9). */
function checkTaskContent(labelConfig: string, data: unknown, meta: unknown): void {
  if (!isJsonObject(data)) throw validationError({}, ["Task[data] must be dict or list"]);
  const dataError = taskDataError(objectTagsOf(labelConfig), data);
  if (dataError) {
    throw issuesError([
      {
        field: null,
        message: dataError.message + DATA_SUFFIX,
        detail: dataError.message,
        key: ["data", ...dataError.key.split(".")],
      },
    ]);
  }
  if (meta !== undefined && !isJsonObject(meta))
    throw validationError({}, ["Task[meta] must be dict or list"]);
  for (const [field, value] of [
    ["data", data],
    ["meta", meta],
  ] as const) {
    const tooBig = findJsonLimitExceeded(value, field);
    if (tooBig) throw validationError({ [field]: [tooBig.message] });
    const bad = findUnstorableString(value, field);
    if (bad) {
      const message = `The string at ${bad.path} ${bad.reason}.`;
      throw issuesError([{ field, message, key: bad.key }]);
    }
  }
}

function checkOverlap(overlap: unknown): number | undefined {
  if (overlap === undefined || overlap === null) return undefined;
  const value = parseId(overlap);
  if (value === null) throw validationError({ overlap: ["A valid integer is required."] });
  if (value < 1)
    throw validationError({ overlap: ["Ensure this value is greater than or equal to 1."] });
  if (value > 1000)
    throw validationError({ overlap: ["Ensure this value is less than or equal to 1000."] });
  return value;
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
  const rawProject = body.project;
  let project: Awaited<ReturnType<typeof findProject>>;
  if (rawProject !== undefined && rawProject !== null && rawProject !== "") {
    const id = parseId(rawProject);
    if (id === null) throw notFound("Not found.");
    if (id === 0) throw validationError({ project: ['Invalid pk "0" - object does not exist.'] });
    project = id > 0 && id <= MAX_INT_ID ? await findProject(db, actor, id) : undefined;
    if (!project) throw notFound(PROJECT_NOT_FOUND);
  }
  if (body.data === undefined) throw validationError({ data: ["This field is required."] });
  if (body.data === null) throw validationError({ data: ["This field may not be null."] });
  if (!project) throw validationError({ project: ["This field is required."] });
  const overlap = checkOverlap(body.overlap) ?? project.maximumAnnotations;
  const meta = body.meta ?? {};
  checkTaskContent(project.labelConfig, body.data, meta);
  const data = body.data as Record<string, unknown>;
  const projectId = project.id;

  // Written with concurrent creates into the same project in one transaction (task-writer.ts).
  const row = await insertTask(db, {
    projectId,
    data,
    meta: meta as Record<string, unknown>,
    overlap,
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
  return toTask(found.task);
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
    tasks: rows.map(toTask),
    total: project.taskNumber,
    total_annotations: sums?.annotations ?? 0,
    total_predictions: sums?.predictions ?? 0,
  };
}

export async function updateTask(db: Db, actor: Actor, input: TaskUpdateInput): Promise<Task> {
  const found = await findTask(db, actor, input.id);
  if (!found) throw notFound(TASK_NOT_FOUND);
  const overlap = checkOverlap(input.overlap);
  checkTaskContent(found.labelConfig, input.data ?? found.task.data, input.meta);
  const [row] = await db
    .update(tasks)
    .set({
      data: input.data,
      meta: input.meta,
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
  });
}
