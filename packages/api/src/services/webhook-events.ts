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
import { eq, sql } from "drizzle-orm";
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

function nudge(): void {
  for (const listener of listeners) setTimeout(listener, 20).unref();
}

function scopeCondition(scope: WebhookScope) {
  return "projectId" in scope
    ? sql`webhooks.organization_id = (select organization_id from projects where id = ${scope.projectId})
          and (webhooks.project_id is null or webhooks.project_id = ${scope.projectId})`
    : sql`webhooks.organization_id = ${scope.organizationId} and webhooks.project_id is null`;
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
    where webhooks.is_active
      and (webhooks.send_for_all_actions or ${action} = any(webhooks.actions))
      and ${scopeCondition(scope)}
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
export async function withProject(
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

/** TASKS_CREATED of created task rows: `{tasks, project}`, at most WEBHOOK_BATCH_SIZE tasks each. */
export function tasksCreatedPayloads(
  projectId: number,
  rows: TaskRow[],
): Record<string, unknown>[] {
  // The project is attached when the event is sent (withProject), off the write path.
  return batches(rows).map((batch) => ({ tasks: batch.map(toTask), project: { id: projectId } }));
}

/**
 * The group-committed create (services/task-writer.ts), whose batch may span projects: its
 * rows and their events together, per project. `rowsOf` reads the written rows from the result.
 */
export async function withTasksCreated<R>(
  db: Db,
  projectIds: readonly number[],
  write: (db: Db) => Promise<R>,
  rowsOf: (result: R) => TaskRow[],
): Promise<R> {
  const wanting: number[] = [];
  for (const projectId of projectIds)
    if (await webhooksWant(db, { projectId }, "TASKS_CREATED")) wanting.push(projectId);
  if (wanting.length === 0) return write(db);
  return db.transaction(async (t) => {
    const tx = transactionDb(t, db);
    const result = await write(tx);
    const rows = rowsOf(result);
    for (const projectId of wanting) {
      const created = rows.filter((row) => row.projectId === projectId);
      if (created.length === 0) continue;
      await insertEvents(
        tx,
        { projectId },
        "TASKS_CREATED",
        tasksCreatedPayloads(projectId, created),
      );
    }
    return result;
  });
}

/** An import's batch (inner_ids `first`..`last`), in the import's transaction. */
export function emitTasksImported(
  tx: Db,
  projectId: number,
  first: number,
  last: number,
): Promise<void> {
  return emitWebhookEvent(tx, { projectId }, "TASKS_CREATED", async (t) => {
    const rows = await t
      .select()
      .from(tasks)
      .where(
        sql`${tasks.projectId} = ${projectId} and ${tasks.innerId} between ${first} and ${last}`,
      )
      .orderBy(tasks.innerId);
    return tasksCreatedPayloads(projectId, rows);
  });
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
