/**
 * Tasks. `createTask` takes a body as sent and checks it in Label Studio's order (the project
 * is looked up before the fields are validated) with the task rules of @taskport/schema, the
 * same rules the import and the web form run; see the contract, section 1.
 */
import { createHash } from "node:crypto";
import {
  checkLabelConfig,
  checkTaskCreate,
  checkTaskUpdate,
  isJsonObject,
  type ObjectTag,
  type ResultRules,
  readProjectRef,
  resultRulesOf,
  TASK_BODY_NOT_OBJECT,
  type Task,
  type TaskDetail,
  type TaskIssue,
  type TaskList,
  type TaskListInput,
  type TaskUpdateInput,
} from "@taskport/schema";
import { TRPCError } from "@trpc/server";
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
import { taskDetails } from "./task-detail";
import { insertTask, StaleProjectError } from "./task-writer";
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
// as strings, so their object tags are kept by text, within a budget of characters (a config
// may be 1,000,000 characters long, so a count alone would not bound the memory held).
export const LABEL_CONFIG_CACHE_CHARS = 4_000_000;
const objectTagsCache = new Map<string, ObjectTag[]>();
let cachedChars = 0;

/** What the cache holds now: configs and their characters in all. */
export function labelConfigCacheSize(): { configs: number; chars: number } {
  return { configs: objectTagsCache.size, chars: cachedChars };
}

const resultRulesCache = new Map<string, ResultRules>();

/** The result rule's view of a label config (@taskport/schema's resultRulesOf), kept by text. */
export function resultRulesFor(labelConfig: string): ResultRules {
  let rules = resultRulesCache.get(labelConfig);
  if (!rules) {
    rules = resultRulesOf(labelConfig);
    if (resultRulesCache.size >= 256) resultRulesCache.clear();
    resultRulesCache.set(labelConfig, rules);
  }
  return rules;
}

export function objectTagsOf(labelConfig: string): ObjectTag[] {
  const cached = objectTagsCache.get(labelConfig);
  if (cached) return cached;
  const check = checkLabelConfig(labelConfig);
  const tags = check.ok ? check.objectTags : [];
  if (labelConfig.length > LABEL_CONFIG_CACHE_CHARS) return tags;
  // Oldest first (a Map keeps insertion order) until the new config fits.
  for (const [text] of objectTagsCache) {
    if (cachedChars + labelConfig.length <= LABEL_CONFIG_CACHE_CHARS) break;
    objectTagsCache.delete(text);
    cachedChars -= text.length;
  }
  objectTagsCache.set(labelConfig, tags);
  cachedChars += labelConfig.length;
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

/** What a create needs of its project: its tenant and its task rules. */
interface ProjectRules {
  id: number;
  organizationId: number;
  objectTags: ObjectTag[];
  /** md5 (hex) of the label config, which the write compares under the project's lock. */
  configHash: string;
}

// Projects this process has looked up for creates, by id. A cached copy is never trusted for
// what it decides: the write refuses a task checked against a label config the project no
// longer has (task-writer.ts), and a task the copy refuses is checked again against the
// project as stored; a project's organization never changes. The copy only spares a lookup
// per create.
const RULES_CACHE_MS = 60_000;
const RULES_CACHE_MAX = 10_000;
const rulesCaches = new WeakMap<Db, Map<number, { rules: ProjectRules; until: number }>>();

async function projectRules(
  db: Db,
  actor: Actor,
  id: number,
  fresh: boolean,
): Promise<{ rules: ProjectRules; cached: boolean } | undefined> {
  let cache = rulesCaches.get(db);
  if (!cache) {
    cache = new Map();
    rulesCaches.set(db, cache);
  }
  const now = Date.now();
  const hit = cache.get(id);
  if (!fresh && hit && hit.until > now) {
    return hit.rules.organizationId === actor.organizationId
      ? { rules: hit.rules, cached: true }
      : undefined;
  }
  const project = await findProject(db, actor, id);
  if (!project) {
    cache.delete(id);
    return undefined;
  }
  const rules: ProjectRules = {
    id: project.id,
    organizationId: project.organizationId,
    objectTags: objectTagsOf(project.labelConfig),
    configHash: createHash("md5").update(project.labelConfig, "utf8").digest("hex"),
  };
  if (cache.size >= RULES_CACHE_MAX) cache.clear();
  cache.set(id, { rules, until: now + RULES_CACHE_MS });
  return { rules, cached: false };
}

// A create whose project changed under it is checked again; past this many times (a label
// config rewritten without pause) it gives up.
const MAX_STALE_RETRIES = 3;

async function createTaskNow(db: Db, actor: Actor, body: unknown): Promise<Task> {
  if (!isJsonObject(body)) throw validationError({}, [TASK_BODY_NOT_OBJECT]);
  const ref = readProjectRef(body.project);
  if (ref.kind === "not-an-id") throw notFound("Not found.");
  if (ref.kind === "no-such-id") throw notFound(PROJECT_NOT_FOUND);
  if (ref.kind === "invalid") throw taskIssueError(ref.issue);
  for (let attempt = 0; ; attempt++) {
    let found = ref.kind === "id" ? await projectRules(db, actor, ref.id, attempt > 0) : undefined;
    if (ref.kind === "id" && !found) throw notFound(PROJECT_NOT_FOUND);
    let checked = checkTaskCreate(found ? found.rules.objectTags : null, body);
    if (!checked.ok && found?.cached) {
      // Refused by a cached copy: the project as stored decides.
      found = await projectRules(db, actor, found.rules.id, true);
      if (!found) throw notFound(PROJECT_NOT_FOUND);
      checked = checkTaskCreate(found.rules.objectTags, body);
    }
    if (!checked.ok) throw taskIssueError(checked.issue);
    if (!found) throw notFound(PROJECT_NOT_FOUND);
    const { data, meta, overlap } = checked.value;
    try {
      // Written with concurrent creates in one statement (task-writer.ts).
      const row = await insertTask(db, {
        projectId: found.rules.id,
        data,
        meta,
        overlap: overlap ?? null,
        createdBy: actor.userId,
        configHash: found.rules.configHash,
      });
      return toTask(row);
    } catch (error) {
      if (!(error instanceof StaleProjectError)) throw error;
      if (attempt >= MAX_STALE_RETRIES) {
        throw new TRPCError({
          code: "CONFLICT",
          message: "The project's label config kept changing while the task was created: retry.",
        });
      }
    }
  }
}

async function findTask(db: Db, actor: Actor, id: number) {
  const [found] = await db
    .select({ task: getTableColumns(tasks), labelConfig: projects.labelConfig })
    .from(tasks)
    .innerJoin(projects, eq(projects.id, tasks.projectId))
    .where(and(eq(tasks.id, id), eq(projects.organizationId, actor.organizationId)));
  return found;
}

/** `GET /api/tasks/{id}/`: the task with its annotations and predictions (task-detail.ts). */
export async function getTask(db: Db, actor: Actor, id: number): Promise<TaskDetail> {
  const found = await findTask(db, actor, id);
  if (!found) throw notFound(TASK_NOT_FOUND);
  const [detail] = await taskDetails(db, [found.task], { expandAnnotators: true });
  if (!detail) throw notFound(TASK_NOT_FOUND);
  return detail;
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

/**
 * Deletes every task of a project of the caller's organization (Label Studio's
 * `DELETE /api/projects/{id}/tasks/`), with their annotations and predictions, and reports them
 * in TASKS_DELETED events. Under the project's row lock, which every numbering takes: the project
 * is empty when it is released, so its counters start again and the next task is inner_id 1,
 * as in Label Studio. Answers how many tasks were deleted.
 */
export async function deleteProjectTasks(db: Db, actor: Actor, projectId: number): Promise<number> {
  const project = await findProject(db, actor, projectId);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  return db.transaction(async (tx) => {
    // Resetting the counters takes the row lock first; nothing can number a task until commit.
    const [locked] = await tx
      .update(projects)
      .set({ taskNumber: 0, lastInnerId: 0 })
      .where(eq(projects.id, project.id))
      .returning({ id: projects.id });
    // Deleted meanwhile.
    if (!locked) throw notFound(PROJECT_NOT_FOUND);
    const deleted = await tx
      .delete(tasks)
      .where(eq(tasks.projectId, project.id))
      .returning({ id: tasks.id });
    if (deleted.length > 0)
      await emitTasksDeleted(
        transactionDb(tx, db),
        project.id,
        deleted.map((row) => row.id),
      );
    return deleted.length;
  });
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
