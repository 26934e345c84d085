/**
 * Emitting webhook events into the outbox (`webhook_events`), inside the transaction of the
 * change they report. Changes that no active webhook listens to pay one lookup in a cache here
 * and nothing in the database.
 *
 * The cache says, per project and per organization, which actions some active webhook may
 * want; it is only a shortcut: the rows are written by one INSERT ... SELECT from `webhooks`,
 * so a webhook deleted or disabled meanwhile gets nothing. An entry lives CACHE_MS; this
 * process drops every entry when it changes a webhook, and a webhook created or turned on
 * answers only after CACHE_MS (services/webhook.ts), so every change that starts after that
 * answer, in any process, sees it.
 */
import { WEBHOOK_ACTION_INFO, type WebhookAction } from "@taskport/schema";
import { eq, getTableColumns, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../db/client";
import { projects, tasks, webhooks } from "../db/schema";
import { transactionDb } from "../db/transaction";
import { getProject } from "./project";
import { toTask } from "./task";
import type { TaskRow } from "./task-writer";

export const CACHE_MS = 1000;
/** Tasks per TASKS_CREATED event of an import, as Label Studio's WEBHOOK_BATCH_SIZE. */
export const WEBHOOK_BATCH_SIZE = 100;

export type WebhookScope = { projectId: number } | { organizationId: number };

interface Wanted {
  at: number;
  all: boolean;
  actions: Set<string>;
}

const byProject = new Map<number, Wanted>();
const byOrganization = new Map<number, Wanted>();
const listeners = new Set<() => void>();
let invalidatedAt = 0;

/** Forgets every cached answer (after this process changed a webhook). */
export function invalidateWebhookCache(): void {
  invalidatedAt = Date.now();
  byProject.clear();
  byOrganization.clear();
}

/** Called soon after events are written, so that this process's dispatcher looks at once. */
export function onWebhookEvents(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// Writes come in bursts (a batch of creates every few milliseconds under load): the
// dispatchers look once per NUDGE_MS, not once per write. Each look costs them a query and a
// transaction per webhook with due events, and finds the webhook's delivery job, which sends
// every event due while it runs, already queued or running; the job system's own polling
// (1 s) bounds how soon a job starts anyway.
const NUDGE_MS = 250;
let nudging: NodeJS.Timeout | undefined;

function nudge(): void {
  if (nudging) return;
  nudging = setTimeout(() => {
    nudging = undefined;
    for (const listener of listeners) listener();
  }, NUDGE_MS);
  nudging.unref();
}

function scopeCondition(scope: WebhookScope) {
  return "projectId" in scope
    ? projectCondition(sql`${scope.projectId}`)
    : sql`webhooks.organization_id = ${scope.organizationId} and webhooks.project_id is null`;
}

/** The webhooks of the project `projectId` (an SQL expression): its own and its organization's. */
function projectCondition(projectId: SQL) {
  return sql`webhooks.organization_id = (select organization_id from projects where id = ${projectId})
    and (webhooks.project_id is null or webhooks.project_id = ${projectId})`;
}

/** The active webhooks (of the scope the caller adds) that want `action`. */
function wantsCondition(action: WebhookAction) {
  return sql`webhooks.is_active
    and (webhooks.send_for_all_actions or ${action} = any(webhooks.actions))`;
}

async function load(db: Db, scope: WebhookScope): Promise<Wanted> {
  const at = Date.now();
  const rows = await db
    .select({ all: webhooks.sendForAllActions, actions: webhooks.actions })
    .from(webhooks)
    .where(sql`${webhooks.isActive} and ${scopeCondition(scope)}`);
  const wanted: Wanted = { at, all: false, actions: new Set() };
  for (const row of rows) {
    if (row.all) wanted.all = true;
    for (const action of row.actions) wanted.actions.add(action);
  }
  return wanted;
}

/** Whether some active webhook may want `action` in `scope` (cached, see the header). */
export async function webhooksWant(
  db: Db,
  scope: WebhookScope,
  action: WebhookAction,
): Promise<boolean> {
  const [map, key] =
    "projectId" in scope ? [byProject, scope.projectId] : [byOrganization, scope.organizationId];
  let wanted = map.get(key);
  if (!wanted || Date.now() - wanted.at > CACHE_MS) {
    // Loaded on the caller's own handle, never awaited by another: a caller inside a
    // transaction (PGlite's single connection) must not wait for a load queued behind it.
    wanted = await load(db, scope);
    const current = map.get(key);
    // A load that began before an invalidation may hold what was just changed: not kept.
    if (wanted.at > invalidatedAt && (!current || current.at < wanted.at)) map.set(key, wanted);
  }
  return wants(wanted, action);
}

function wants(wanted: Wanted, action: WebhookAction): boolean {
  return wanted.all || wanted.actions.has(action);
}

/** Writes one event per payload for every active webhook of `scope` that wants `action`. */
async function insertEvents(
  tx: Db,
  scope: WebhookScope,
  action: WebhookAction,
  payloads: Record<string, unknown>[],
): Promise<void> {
  if (payloads.length === 0) return;
  const bodies = JSON.stringify(payloads.map((payload) => ({ action, ...payload })));
  await tx.execute(sql`insert into webhook_events (webhook_id, action, payload)
    select webhooks.id, ${action}, p.value
    from webhooks, jsonb_array_elements(${bodies}::jsonb) with ordinality as p(value, ord)
    where ${wantsCondition(action)} and ${scopeCondition(scope)}
    order by webhooks.id, p.ord`);
  nudge();
}

type Payloads = (tx: Db) => Promise<Record<string, unknown>[]> | Record<string, unknown>[];

/**
 * Inside the caller's transaction: the events of `action`, their payloads built only when
 * some webhook wants them. Organization-only actions reach organization webhooks only.
 */
export async function emitWebhookEvent(
  tx: Db,
  scope: WebhookScope,
  action: WebhookAction,
  payloads: Payloads,
): Promise<void> {
  if (!(await webhooksWant(tx, scope, action))) return;
  await insertEvents(tx, scope, action, await payloads(tx));
}

/**
 * A write that is not in a transaction yet: run alone when no webhook wants `action` (no
 * transaction, nothing added), otherwise in one transaction with its events.
 */
export async function withWebhookEvents<R>(
  db: Db,
  scope: WebhookScope,
  action: WebhookAction,
  write: (db: Db) => Promise<R>,
  payloads: (result: R, tx: Db) => Promise<Record<string, unknown>[]>,
): Promise<R> {
  if (!(await webhooksWant(db, scope, action))) return write(db);
  return db.transaction(async (t) => {
    const tx = transactionDb(t, db);
    const result = await write(tx);
    await insertEvents(tx, scope, action, await payloads(result, tx));
    return result;
  });
}

/**
 * Events about a project's tasks or annotations carry the project as it is when they are sent (Label Studio's
 * project serializer, counters included): computing it on the write path would cost every
 * batch of creates a scan of the project.
 */
async function withProject(
  db: Db,
  payload: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const project = payload.project as { id?: unknown } | undefined;
  const aboutTasks =
    Array.isArray(payload.tasks) ||
    ["annotation", "annotations", "prediction", "predictions"].some((key) => key in payload);
  if (!aboutTasks || typeof project?.id !== "number") return payload;
  // Counted at most once a second per project: a burst of deliveries shares one count.
  let cached = sentProjects.get(project.id);
  if (!cached || Date.now() - cached.at > CACHE_MS) {
    cached = { at: Date.now(), value: await projectPayload(db, project.id) };
    if (sentProjects.size >= 1000) sentProjects.clear();
    sentProjects.set(project.id, cached);
  }
  return { ...payload, project: cached.value };
}

const sentProjects = new Map<number, { at: number; value: unknown }>();

/**
 * An event's payload as it is sent: the task rows a TASKS_CREATED event keeps serialized by
 * toTask, and the project attached (withProject).
 */
export function sentPayload(
  db: Db,
  payload: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { task_columns: columns, ...rest } = payload;
  if (!Array.isArray(columns) || !Array.isArray(rest.tasks)) return withProject(db, payload);
  const serialized = (rest.tasks as unknown[][])
    .map((values) => taskRowFromJson(columns as string[], values))
    .sort((a, b) => a.innerId - b.innerId)
    .map(toTask);
  return withProject(db, { ...rest, tasks: serialized });
}

/** The project as webhook payloads carry it (Label Studio's project serializer). */
export async function projectPayload(tx: Db, projectId: number): Promise<unknown> {
  const [row] = await tx
    .select({ organizationId: projects.organizationId })
    .from(projects)
    .where(eq(projects.id, projectId));
  if (!row) return { id: projectId };
  return getProject(tx, { organizationId: row.organizationId, userId: 0 }, projectId);
}

export function batches<T>(items: T[], size = WEBHOOK_BATCH_SIZE): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/*
 * TASKS_CREATED events keep their tasks as the rows were written: `tasks` holds each row as an
 * array of its values and `task_columns` names them (the task row's properties, in the table's
 * order), so an event written before a change of the table still reads right. The rows are
 * turned back into task rows and serialized by toTask when the event is sent (sentPayload): the
 * task's wire format has one definition, and the events are built in SQL by the statement that
 * writes the rows (services/task-writer.ts), in one round trip and atomic with them. Arrays,
 * not objects: PostgreSQL builds them in about half the time, and that time is spent under the
 * projects' row locks.
 */

/** The rows an event is built from: a CTE of this name. */
const written = alias(tasks, "written");
const writtenColumns = Object.entries(getTableColumns(written));

const taskColumnsJson = sql.raw(`'${JSON.stringify(writtenColumns.map(([key]) => key))}'::jsonb`);
const writtenRowJson = sql`jsonb_build_array(${sql.join(
  writtenColumns.map(([, column]) => sql`${column}`),
  sql`, `,
)})`;

const taskRowColumns = new Map(Object.entries(getTableColumns(tasks)));

function taskRowFromJson(names: string[], values: unknown[]): TaskRow {
  const row: Record<string, unknown> = {};
  for (const [key, column] of taskRowColumns) {
    const index = names.indexOf(key);
    const value = index < 0 ? null : (values[index] ?? null);
    // JSON columns hold their values as they are; the others arrive as the driver's text
    // would (timestamps as ISO strings), which the column maps as it maps a query's result.
    row[key] =
      value === null || column.dataType === "json" ? value : column.mapFromDriverValue(value);
  }
  return row as TaskRow;
}

/**
 * The INSERT of the TASKS_CREATED events of the rows of `written` (a CTE the caller defines):
 * per project, one event per WEBHOOK_BATCH_SIZE rows in inner_id order (`{action, tasks,
 * task_columns, project: {id}}`), for every active webhook of the project that wants them.
 * The chunks are counted from each project's first inner_id, and their rows aggregated
 * without sorting them (sentPayload puts them in inner_id order): sorts of whole rows are
 * what would cost most here, under the projects' row locks.
 */
export function tasksCreatedEvents(): SQL {
  const action: WebhookAction = "TASKS_CREATED";
  return sql`insert into webhook_events (webhook_id, action, payload)
    select webhooks.id, ${action}, jsonb_build_object('action', ${action}::text, 'tasks', b.rows,
      'task_columns', ${taskColumnsJson}, 'project', jsonb_build_object('id', b.project_id))
    from (select ${written.projectId} as project_id,
            (${written.innerId} - f.first) / ${sql.raw(String(WEBHOOK_BATCH_SIZE))} as chunk,
            jsonb_agg(${writtenRowJson}) as rows
          from written
          join (select project_id, min(inner_id) as first from written group by project_id) f
            on f.project_id = ${written.projectId}
          group by 1, 2) b, webhooks
    where ${wantsCondition(action)} and ${projectCondition(sql`b.project_id`)}
    order by webhooks.id, b.project_id, b.chunk`;
}

/** Whether some active webhook may want TASKS_CREATED of one of `projectIds` (cached). */
export async function tasksCreatedWanted(db: Db, projectIds: Iterable<number>): Promise<boolean> {
  for (const projectId of projectIds)
    if (await webhooksWant(db, { projectId }, "TASKS_CREATED")) return true;
  return false;
}

/** From the cache alone, without waiting: whether a webhook was last seen wanting TASKS_CREATED of the project. */
export function tasksCreatedReported(projectId: number): boolean {
  const wanted = byProject.get(projectId);
  return wanted !== undefined && wants(wanted, "TASKS_CREATED");
}

/** Called after a statement wrote events of its own (tasksCreatedEvents), once it committed. */
export function eventsWritten(): void {
  nudge();
}

/** An import's batch (inner_ids `first`..`last`), in the import's transaction. */
export async function emitTasksImported(
  tx: Db,
  projectId: number,
  first: number,
  last: number,
): Promise<void> {
  if (!(await webhooksWant(tx, { projectId }, "TASKS_CREATED"))) return;
  await tx.execute(sql`with written as (select * from ${tasks}
      where ${tasks.projectId} = ${projectId} and ${tasks.innerId} between ${first} and ${last})
    ${tasksCreatedEvents()}`);
  nudge();
}

export function isOrganizationOnly(action: WebhookAction): boolean {
  return WEBHOOK_ACTION_INFO[action].organizationOnly;
}

/** TASKS_DELETED, in the deleting transaction: `{tasks: [{id}], project}`. */
export function emitTasksDeleted(tx: Db, projectId: number, ids: number[]): Promise<void> {
  return emitWebhookEvent(tx, { projectId }, "TASKS_DELETED", () =>
    batches(ids).map((batch) => ({
      tasks: batch.map((id) => ({ id })),
      project: { id: projectId },
    })),
  );
}

/** PROJECT_CREATED / PROJECT_UPDATED, in the writing transaction, with the project as written. */
export function emitProjectEvent(
  tx: Db,
  organizationId: number,
  projectId: number,
  action: "PROJECT_CREATED" | "PROJECT_UPDATED",
): Promise<void> {
  const scope: WebhookScope = isOrganizationOnly(action) ? { organizationId } : { projectId };
  return emitWebhookEvent(tx, scope, action, async (t) => [
    { project: await projectPayload(t, projectId) },
  ]);
}

/** PROJECT_DELETED, in the deleting transaction: `{project: {id}}` to organization webhooks. */
export function emitProjectDeleted(
  tx: Db,
  organizationId: number,
  projectId: number,
): Promise<void> {
  return emitWebhookEvent(tx, { organizationId }, "PROJECT_DELETED", () => [
    { project: { id: projectId } },
  ]);
}

/** A project insert not yet in a transaction, with its PROJECT_CREATED events when wanted. */
export function withProjectCreated<R extends { id: number }[]>(
  db: Db,
  organizationId: number,
  write: (db: Db) => Promise<R>,
): Promise<R> {
  return withWebhookEvents(db, { organizationId }, "PROJECT_CREATED", write, async (rows, tx) => {
    const out: Record<string, unknown>[] = [];
    for (const row of rows) out.push({ project: await projectPayload(tx, row.id) });
    return out;
  });
}

/** A project delete not yet in a transaction, with its PROJECT_DELETED events when wanted. */
export function withProjectDeleted<R extends { id: number }[]>(
  db: Db,
  organizationId: number,
  write: (db: Db) => Promise<R>,
): Promise<R> {
  return withWebhookEvents(db, { organizationId }, "PROJECT_DELETED", write, async (rows) =>
    rows.map((row) => ({ project: { id: row.id } })),
  );
}

/** A storage sync's start, end or failure, in the transaction that records it. */
export function emitSyncEvent(
  tx: Db,
  projectId: number,
  storage: { id: number; type: string },
  action: "STORAGE_SYNC_STARTED" | "STORAGE_SYNC_COMPLETED" | "STORAGE_SYNC_FAILED",
  jobId: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  return emitWebhookEvent(tx, { projectId }, action, () => [
    {
      storage: { id: storage.id, type: storage.type, project: projectId },
      job: jobId,
      ...details,
      project: { id: projectId },
    },
  ]);
}
