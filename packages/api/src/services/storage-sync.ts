/**
 * A storage's sync, as a durable job. The listing (byte order of keys, a page at a time) is
 * walked beside the keys the storage already took in (`storage_objects`, same order):
 *
 * - an object whose ETag (or size and mtime) is unchanged is skipped: not read, not written;
 * - a new object is read and each of its rows becomes a task, written through the import's
 *   batched writer (so `inner_id` stays dense and unique beside API creates and imports) and
 *   linked to (storage, key, row), which is unique: a row is never two tasks;
 * - a changed object updates its rows' tasks (policy `update`) or adds new tasks (`create`);
 * - an object that is gone has its tasks kept and marked (`keep`) or deleted (`delete`).
 *
 * Each batch of objects commits its tasks, links, object records and the job's progress,
 * cursor included, in one transaction: a sync interrupted at any point (kill -9) resumes
 * after the last committed key and never makes a task twice.
 *
 * Its webhook events are each written once per sync, in the transaction of the fact they
 * announce: STORAGE_SYNC_STARTED with the progress that records `started` (a retried or
 * resumed attempt finds it and announces nothing), STORAGE_SYNC_COMPLETED and
 * STORAGE_SYNC_FAILED with the job's final status (the job system's end hooks).
 */
import {
  checkImportItem,
  type ImportedTask,
  type ResultRules,
  type SyncError,
  type SyncProgress,
  undefinedKeyOf,
} from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, eq, inArray, isNotNull, sql } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { executeRows } from "../db/rows";
import { importStorages, jobs, projects, storageLinks, storageObjects } from "../db/schema";
import { pgErrorCode } from "../errors";
import {
  backoff,
  type JobContext,
  type JobDefinition,
  type JobRow,
  type JobSystem,
  PermanentJobError,
  type RetryPolicy,
  UNFINISHED,
} from "../jobs/system";
import { BATCH_TASKS, DEFAULT_MAX_IMPORT_BYTES, writeBatch } from "./import";
import {
  compareKeys,
  type ListedObject,
  openSource,
  type SourceOptions,
  type StorageSource,
} from "./storage-source";
import { objectTagsOf, resultRulesFor } from "./task";
import { emitSyncEvent } from "./webhook-events";

export const SYNC_QUEUE = "storage-sync";
const SYNC_RETRY = backoff(3, 5);
export const SYNC_TICK_QUEUE = "storage-sync-tick";

const MAX_ERRORS_KEPT = 100;
const READ_CONCURRENCY = 64;
/** Objects read and written per transaction, and the bytes they may add up to. */
const BATCH_OBJECTS = 1000;
const BATCH_BYTES = 16 * 1024 * 1024;
/** A sync that writes nothing records its progress at most this often. */
const PROGRESS_EVERY_MS = 1000;

export interface SyncData {
  storageId: number;
  /** Who asked for the sync: the tasks' `created_by` (the storage's creator for periodic syncs). */
  userId: number | null;
}

export interface SyncSettings extends SourceOptions {
  /** Objects larger than this are reported as errors rather than read (default 250 MiB). */
  maxObjectBytes?: number;
  /** A sync's attempts and the waits between them (default 3 attempts, from 5 s). */
  retry?: RetryPolicy;
}

/**
 * `started`: STORAGE_SYNC_STARTED was written (with this progress). Absent in the progress of
 * a sync that had committed a batch before it was recorded: such a sync had announced itself.
 */
type Progress = SyncProgress & { cursor: string | null; started?: boolean };

export function emptyProgress(): Progress {
  return {
    phase: "listing",
    objects_expected: 0,
    objects_listed: 0,
    objects_skipped: 0,
    tasks_created: 0,
    tasks_updated: 0,
    tasks_skipped: 0,
    tasks_deleted: 0,
    tasks_marked: 0,
    error_count: 0,
    errors: [],
    cursor: null,
  };
}

interface Known {
  etag: string;
  taskCount: number;
  error: string | null;
}

type Json = Record<string, unknown>;

/** An object read and cut into rows: each a task to write, or the reason it cannot be one. */
interface ReadObject {
  object: ListedObject;
  /** Set when the object itself could not be read or parsed. */
  error?: string;
  rows: (ImportedTask | string)[];
}

interface Target {
  storageId: number;
  source: StorageSource;
  useBlobUrls: boolean;
  onChange: "update" | "create";
  onDelete: "keep" | "delete";
  objectTags: ReturnType<typeof objectTagsOf>;
  undefinedKey: string;
  /** The project's rule for inline annotation and prediction results (as the import's). */
  results: ResultRules;
  project: { id: number; overlap: number };
  actor: Actor;
  maxObjectBytes: number;
}

function addError(progress: Progress, error: SyncError): void {
  progress.error_count++;
  if (progress.errors.length < MAX_ERRORS_KEPT) progress.errors.push(error);
}

function rowsOf(key: string, body: Buffer): unknown[] {
  const text = body.toString("utf8");
  if (/\.jsonl$/i.test(key)) {
    return text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line));
  }
  const value = JSON.parse(text) as unknown;
  return Array.isArray(value) ? value : [value];
}

async function readObject(target: Target, object: ListedObject): Promise<ReadObject> {
  // Each row is checked by the import's rules (the same as a single create's).
  const prepare = (items: unknown[]) =>
    items.map((item) => {
      const checked = checkImportItem(target.objectTags, item, target.undefinedKey, target.results);
      return checked.ok ? checked.value : checked.issue.message;
    });
  if (target.useBlobUrls) {
    return { object, rows: prepare([{ [target.undefinedKey]: target.source.uri(object.key) }]) };
  }
  if (!/\.(json|jsonl)$/i.test(object.key) && /\.[^/.]+$/.test(object.key)) {
    return {
      object,
      rows: [],
      error: "Not a JSON or JSONL file: to make a task of each media file, turn on use_blob_urls.",
    };
  }
  if (object.size > target.maxObjectBytes) {
    return {
      object,
      rows: [],
      error: `The object has ${object.size} bytes, more than the ${target.maxObjectBytes} a sync reads.`,
    };
  }
  let items: unknown[];
  try {
    items = rowsOf(object.key, await target.source.read(object.key));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `invalid JSON (${error.message})` : String(error);
    return { object, rows: [], error: `Error loading JSON from file: ${reason}` };
  }
  return { object, rows: prepare(items) };
}

/** Runs `work` over `items` with at most `limit` at once, keeping their order. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
}

/** The keys the storage took in, after `after` and up to `until` (byte order). */
async function knownKeys(
  db: Db,
  storageId: number,
  after: string | null,
  until: string | null,
): Promise<Map<string, Known>> {
  const rows = await db
    .select({
      key: storageObjects.key,
      etag: storageObjects.etag,
      taskCount: storageObjects.taskCount,
      error: storageObjects.error,
    })
    .from(storageObjects)
    .where(
      and(
        eq(storageObjects.storageId, storageId),
        after === null ? undefined : sql`${storageObjects.key} > ${after}::text`,
        until === null ? undefined : sql`${storageObjects.key} <= ${until}::text`,
      ),
    );
  return new Map(
    rows.map((r) => [r.key, { etag: r.etag, taskCount: r.taskCount, error: r.error }]),
  );
}

/**
 * Writes one batch: the objects read (tasks created, updated or detached), the keys found gone,
 * and the object records. Counts go to `progress`.
 */
async function writeObjects(
  tx: Db,
  target: Target,
  read: ReadObject[],
  known: Map<string, Known>,
  gone: string[],
  progress: Progress,
): Promise<void> {
  const keys = read.map((r) => r.object.key);
  const links =
    keys.length === 0
      ? []
      : await tx
          .select({
            taskId: storageLinks.taskId,
            key: storageLinks.key,
            row: storageLinks.row,
            objectExists: storageLinks.objectExists,
          })
          .from(storageLinks)
          .where(
            and(eq(storageLinks.storageId, target.storageId), inArray(storageLinks.key, keys)),
          );
  const linksByKey = new Map<string, Map<number, { taskId: number; objectExists: boolean }>>();
  for (const link of links) {
    let rows = linksByKey.get(link.key);
    if (!rows) {
      rows = new Map();
      linksByKey.set(link.key, rows);
    }
    rows.set(link.row, { taskId: link.taskId, objectExists: link.objectExists });
  }

  const detach: string[] = [];
  const creates: { key: string; row: number; task: ImportedTask }[] = [];
  const updates: { task_id: number; data: Json; meta: Json }[] = [];
  const revive: number[] = [];
  const removed: number[] = [];
  const records: {
    key: string;
    etag: string;
    size: number;
    task_count: number;
    error: string | null;
  }[] = [];

  for (const { object, rows, error } of read) {
    let existing = linksByKey.get(object.key) ?? new Map();
    const before = known.get(object.key);
    if (target.onChange === "create" && before && before.etag !== object.etag && existing.size) {
      // The changed object makes new tasks; the old ones stay, no longer linked to it.
      detach.push(object.key);
      existing = new Map();
    }
    let firstError: string | null = error ?? null;
    if (error) addError(progress, { key: object.key, row: null, message: error });
    let taskCount = 0;
    rows.forEach((row, i) => {
      if (typeof row === "string") {
        addError(progress, { key: object.key, row: i, message: row });
        firstError ??= `row ${i}: ${row}`;
        return;
      }
      taskCount++;
      const link = existing.get(i);
      if (link) {
        updates.push({ task_id: link.taskId, data: row.data, meta: row.meta });
        if (!link.objectExists) revive.push(link.taskId);
      } else {
        creates.push({ key: object.key, row: i, task: row });
      }
    });
    // Rows the object no longer has (an unreadable object keeps its tasks as they were).
    if (!error) {
      for (const [row, link] of existing) if (row >= rows.length) removed.push(link.taskId);
    }
    records.push({
      key: object.key,
      etag: object.etag,
      size: object.size,
      task_count: error ? (before?.taskCount ?? 0) : taskCount,
      error: firstError,
    });
  }

  if (gone.length > 0) {
    const goneLinks = await tx
      .select({ taskId: storageLinks.taskId })
      .from(storageLinks)
      .where(and(eq(storageLinks.storageId, target.storageId), inArray(storageLinks.key, gone)));
    for (const link of goneLinks) removed.push(link.taskId);
    await tx
      .delete(storageObjects)
      .where(
        and(eq(storageObjects.storageId, target.storageId), inArray(storageObjects.key, gone)),
      );
  }

  if (detach.length > 0) {
    await tx
      .delete(storageLinks)
      .where(and(eq(storageLinks.storageId, target.storageId), inArray(storageLinks.key, detach)));
  }

  for (let i = 0; i < creates.length; i += BATCH_TASKS) {
    const chunk = creates.slice(i, i + BATCH_TASKS);
    const ids = await writeBatch(
      tx,
      target.actor,
      target.project,
      null,
      chunk.map((c) => c.task),
      true,
    );
    const linkRows = chunk.map((c, n) => ({ task_id: ids[n], key: c.key, row: c.row }));
    await tx.execute(sql`
      insert into storage_links (task_id, storage_id, key, row)
      select r.task_id, ${target.storageId}, r.key, r.row
      from jsonb_to_recordset(${JSON.stringify(linkRows)}::jsonb) as r(task_id bigint, key text, row integer)`);
    progress.tasks_created += chunk.length;
  }

  if (updates.length > 0) {
    const changed = await executeRows(
      tx,
      sql`
      update tasks t set data = r.data, meta = r.meta, updated_at = now()
      from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as r(task_id bigint, data jsonb, meta jsonb)
      where t.id = r.task_id and (t.data is distinct from r.data or t.meta is distinct from r.meta)
      returning t.id`,
    );
    const n = changed.length;
    progress.tasks_updated += n;
    progress.tasks_skipped += updates.length - n;
  }
  if (revive.length > 0) {
    await tx
      .update(storageLinks)
      .set({ objectExists: true })
      .where(inArray(storageLinks.taskId, revive));
  }

  if (removed.length > 0) {
    if (target.onDelete === "delete") {
      const deleted = await executeRows<{ n: number }>(
        tx,
        sql`
        with gone as (delete from tasks where id = any(${`{${removed.join(",")}}`}::bigint[]) returning project_id)
        update projects p set task_number = p.task_number - c.n
        from (select project_id, count(*)::int as n from gone group by project_id) c
        where p.id = c.project_id
        returning c.n`,
      );
      for (const row of deleted) progress.tasks_deleted += Number(row.n);
    } else {
      const marked = await tx
        .update(storageLinks)
        .set({ objectExists: false })
        .where(and(inArray(storageLinks.taskId, removed), eq(storageLinks.objectExists, true)))
        .returning({ taskId: storageLinks.taskId });
      progress.tasks_marked += marked.length;
    }
  }

  if (records.length > 0) {
    await tx.execute(sql`
      insert into storage_objects (storage_id, key, etag, size, task_count, error, synced_at)
      select ${target.storageId}, r.key, r.etag, r.size, r.task_count, r.error, now()
      from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as r(key text, etag text,
        size bigint, task_count integer, error text)
      on conflict (storage_id, key) do update set etag = excluded.etag, size = excluded.size,
        task_count = excluded.task_count, error = excluded.error, synced_at = excluded.synced_at`);
  }
}

async function runSync(
  db: Db,
  settings: SyncSettings,
  context: JobContext<SyncData>,
): Promise<Progress> {
  const [found] = await db
    .select({ storage: importStorages, project: projects })
    .from(importStorages)
    .innerJoin(projects, eq(projects.id, importStorages.projectId))
    .where(eq(importStorages.id, context.data.storageId));
  if (!found) throw new PermanentJobError("The storage was deleted.");
  const { storage, project } = found;
  const source = openSource(storage, settings);
  const target: Target = {
    storageId: storage.id,
    source,
    useBlobUrls: storage.useBlobUrls,
    onChange: storage.onChange,
    onDelete: storage.onDelete,
    objectTags: objectTagsOf(project.labelConfig),
    undefinedKey: undefinedKeyOf(objectTagsOf(project.labelConfig)),
    results: resultRulesFor(project.labelConfig),
    project: { id: project.id, overlap: project.maximumAnnotations },
    // Tasks are created by whoever asked for the sync; a periodic sync acts for the storage's
    // creator (null when that user was deleted: created_by is then null).
    actor: {
      userId: (context.data.userId ?? storage.createdBy) as number,
      organizationId: project.organizationId,
    },
    maxObjectBytes: settings.maxObjectBytes ?? DEFAULT_MAX_IMPORT_BYTES,
  };

  let progress: Progress = { ...emptyProgress(), ...(context.progress as Partial<Progress>) };
  // An attempt that found the sync done (its process stopped before the job was marked
  // completed) has nothing left to do: the job now completes, and announces it.
  if (progress.phase === "done") return progress;
  const fresh = progress.objects_listed === 0 && progress.cursor === null;
  if (fresh) {
    const [known] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(storageObjects)
      .where(eq(storageObjects.storageId, storage.id));
    progress.objects_expected = known?.n ?? 0;
  }
  if (fresh && !progress.started) {
    const next: Progress = { ...progress, started: true };
    await context.commit(async (tx) => {
      await emitSyncEvent(tx, project.id, storage, "STORAGE_SYNC_STARTED", context.id);
      return next;
    });
    progress = next;
  }
  let lastCommit = Date.now();
  /** Commits `write`'s changes with the progress they lead to (only once they are durable). */
  const save = async (write: (tx: Db, next: Progress) => Promise<void>) => {
    const next = structuredClone(progress);
    await context.commit(async (tx) => {
      await write(tx, next);
      return next;
    });
    progress = next;
    lastCommit = Date.now();
  };

  for await (const page of source.list(progress.cursor)) {
    if (page.remaining !== undefined)
      progress.objects_expected = progress.objects_listed + page.remaining;
    const known = await knownKeys(db, storage.id, progress.cursor, page.lastKey);
    const listed = new Set(page.objects.map((o) => o.key));
    const gone = [...known.keys()].filter((key) => !listed.has(key)).sort(compareKeys);

    // Objects are taken in key order, in batches; each batch commits everything up to its
    // last key: the objects it read, the unchanged ones it skipped, the keys found gone.
    let batch: ListedObject[] = [];
    let batchBytes = 0;
    let skippedObjects = 0;
    let skippedTasks = 0;
    let goneAt = 0;
    let counted = 0;
    /** Handles the page up to key `until`, which covers its first `upTo` objects. */
    const flush = async (until: string, upTo: number) => {
      const goneHere: string[] = [];
      while (goneAt < gone.length && compareKeys(gone[goneAt] as string, until) <= 0)
        goneHere.push(gone[goneAt++] as string);
      const reads = await mapLimited(batch, READ_CONCURRENCY, (o) => readObject(target, o));
      const counts = { listed: upTo - counted, skippedObjects, skippedTasks };
      const advance = (next: Progress) => {
        next.objects_listed += counts.listed;
        next.objects_skipped += counts.skippedObjects;
        next.tasks_skipped += counts.skippedTasks;
        next.cursor = until;
      };
      if (reads.length > 0 || goneHere.length > 0 || Date.now() - lastCommit >= PROGRESS_EVERY_MS) {
        await save(async (tx, next) => {
          advance(next);
          await writeObjects(tx, target, reads, known, goneHere, next);
        });
      } else {
        // Nothing to write: the counts advance in memory and reach the database with the next
        // commit (a sync resumed before that lists these keys again and skips them again).
        advance(progress);
      }
      counted = upTo;
      batch = [];
      batchBytes = 0;
      skippedObjects = 0;
      skippedTasks = 0;
    };

    for (const [i, object] of page.objects.entries()) {
      const before = known.get(object.key);
      if (before && before.etag === object.etag && before.error === null) {
        skippedObjects++;
        skippedTasks += before.taskCount;
        continue;
      }
      batch.push(object);
      batchBytes += target.useBlobUrls ? 256 : object.size;
      if (batch.length >= BATCH_OBJECTS || batchBytes >= BATCH_BYTES)
        await flush(object.key, i + 1);
    }
    await flush(page.lastKey, page.objects.length);
  }

  // Keys past the last listed one are gone too.
  const rest = await knownKeys(db, storage.id, progress.cursor, null);
  await save(async (tx, next) => {
    next.phase = "done";
    next.cursor = null;
    await writeObjects(tx, target, [], rest, [...rest.keys()], next);
  });
  return progress;
}

/** The storage a sync announces events for (none once the storage was deleted). */
async function syncedStorage(tx: Db, data: SyncData) {
  const [found] = await tx
    .select({
      id: importStorages.id,
      type: importStorages.type,
      projectId: importStorages.projectId,
    })
    .from(importStorages)
    .where(eq(importStorages.id, data.storageId));
  return found;
}

/** The sync job: a deleted storage or project ends it at once rather than being retried. */
export function syncDefinition(db: Db, settings: SyncSettings): JobDefinition<SyncData> {
  return {
    queue: SYNC_QUEUE,
    concurrency: 2,
    retry: settings.retry ?? SYNC_RETRY,
    handler: async (context) => {
      try {
        const {
          errors: _errors,
          cursor: _cursor,
          started: _started,
          ...summary
        } = await runSync(db, settings, context);
        return summary;
      } catch (error) {
        if (
          pgErrorCode(error) === "23503" ||
          (error instanceof TRPCError && error.code === "NOT_FOUND")
        )
          throw new PermanentJobError("The storage or its project was deleted during the sync.");
        throw error;
      }
    },
    completed: async (tx, job, summary) => {
      const storage = await syncedStorage(tx, job.data as unknown as SyncData);
      if (!storage) return;
      await emitSyncEvent(
        tx,
        storage.projectId,
        storage,
        "STORAGE_SYNC_COMPLETED",
        job.id,
        summary as Record<string, unknown>,
      );
    },
    failed: async (tx, job, error) => {
      const storage = await syncedStorage(tx, job.data as unknown as SyncData);
      if (!storage) return;
      await emitSyncEvent(tx, storage.projectId, storage, "STORAGE_SYNC_FAILED", job.id, {
        error,
      });
    },
  };
}

/**
 * Every minute: a sync for each storage whose `sync_interval_minutes` have passed since its last
 * sync ended (none is started while one is unfinished).
 */
export function syncTickDefinition(db: Db, system: () => JobSystem): JobDefinition<unknown> {
  return {
    queue: SYNC_TICK_QUEUE,
    cron: "* * * * *",
    tracked: false,
    handler: async () => {
      const due = await db
        .select({
          id: importStorages.id,
          createdBy: importStorages.createdBy,
          organizationId: projects.organizationId,
        })
        .from(importStorages)
        .innerJoin(projects, eq(projects.id, importStorages.projectId))
        .leftJoin(jobs, eq(jobs.id, importStorages.lastSyncJobId))
        .where(
          and(
            isNotNull(importStorages.syncIntervalMinutes),
            eq(importStorages.synchronizable, true),
            sql`(${jobs.id} is null or (${jobs.status} not in (${sql.join(
              UNFINISHED.map((s) => sql`${s}`),
              sql`, `,
            )}) and ${jobs.finishedAt} < now() - make_interval(mins => ${importStorages.syncIntervalMinutes})))`,
          ),
        );
      for (const storage of due) {
        await enqueueSync(db, system(), storage, storage.createdBy, storage.organizationId);
      }
    },
  };
}

export function syncKey(storageId: number): string {
  return `storage-sync:${storageId}`;
}

/** Starts the storage's sync job, or answers its unfinished one; the storage points to it. */
export async function enqueueSync(
  db: Db,
  system: JobSystem,
  storage: { id: number },
  userId: number | null,
  organizationId: number,
): Promise<JobRow> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Db;
    const { job } = await system.enqueue(
      SYNC_QUEUE,
      { storageId: storage.id, userId },
      { key: syncKey(storage.id), organizationId, tx },
    );
    await tx
      .update(importStorages)
      .set({ lastSyncJobId: job.id })
      .where(eq(importStorages.id, storage.id));
    return job;
  });
}
