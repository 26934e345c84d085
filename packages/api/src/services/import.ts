/**
 * Bulk import: one service behind REST `POST /api/projects/{id}/import`, tRPC `task.import`
 * and the CLI. Items arrive as async sequences (parsed incrementally from files or bodies),
 * are checked with the rules of a single create, and are written in large batches inside one
 * transaction: all or nothing per request (contract section 4).
 *
 * inner_id: the first batch takes the project row's lock with one `UPDATE ... + n RETURNING`,
 * held until commit, and every batch numbers its tasks from the counter it moved. Single
 * creates take the same lock, so numbers stay unique and dense under any concurrency, and
 * nothing ever counts the project's tasks: the cost of an import does not grow with the
 * project.
 */
import {
  checkImportItem,
  type ImportedTask,
  type ImportResult,
  MAX_IMPORT_TASKS,
  undefinedKeyOf,
} from "@taskport/schema";
import { and, asc, between, eq, inArray, sql } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { fileUploads, projects, tasks, users } from "../db/schema";
import { transactionDb } from "../db/transaction";
import { notFound, validationError } from "../errors";
import { couldBeTasksList, type ImportFormat, ImportFormatError } from "../import-formats";
import { type IdempotencyRequest, withIdempotency } from "./idempotency";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { objectTagsOf } from "./task";

export { MAX_IMPORT_TASKS };
export const MAX_IMPORT_ERRORS = 100;
/** TASKPORT_MAX_IMPORT_BYTES's default: the largest import request body. */
export const DEFAULT_MAX_IMPORT_BYTES = 250 * 1024 * 1024;
/** Tasks per INSERT; a batch is also cut at BATCH_BYTES of JSON so that memory stays bounded. */
export const BATCH_TASKS = 5000;
const BATCH_BYTES = 16 * 1024 * 1024;

export interface ImportFile {
  name: string;
  format: ImportFormat;
  /** Bytes read from the file, asked once it has been read whole. */
  size?: () => number;
}

export interface ImportSource {
  items: AsyncIterable<unknown> | Iterable<unknown>;
  /** Set for an uploaded file: a `file_uploads` row is made and its tasks point to it. */
  file?: ImportFile;
}

export interface ImportParams {
  project: number;
  /** Read one after the other (multipart files arrive in sequence). */
  sources: Iterable<ImportSource> | AsyncIterable<ImportSource>;
  commitToProject?: boolean;
  returnTaskIds?: boolean;
  /** A keyed request answers its first response when replayed (services/idempotency.ts). */
  idempotency?: IdempotencyRequest;
}

function preview(item: unknown): string {
  const text = JSON.stringify(item) ?? String(item);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * Writes one batch: moves the project's counter by its size (taking or re-entering the row
 * lock) and inserts its tasks, annotations and predictions with one statement each. The rows
 * travel as one JSON parameter expanded by `jsonb_to_recordset`, which costs one round trip
 * and no per-row parameters whatever the batch size, on both drivers.
 */
async function writeBatch(
  tx: Db,
  actor: Actor,
  project: { id: number; overlap: number },
  fileUploadId: number | null,
  batch: ImportedTask[],
  returnTaskIds: boolean,
): Promise<number[]> {
  const n = batch.length;
  const [counter] = await tx
    .update(projects)
    .set({
      lastInnerId: sql`${projects.lastInnerId} + ${n}`,
      taskNumber: sql`${projects.taskNumber} + ${n}`,
    })
    .where(eq(projects.id, project.id))
    .returning({ last: projects.lastInnerId });
  if (!counter) throw notFound(PROJECT_NOT_FOUND);
  const first = counter.last - n + 1;

  // completed_by must name a user of the caller's organization; any other id (an export from
  // another server, or another tenant's user) becomes the importing user.
  const named = new Set<number>();
  for (const task of batch)
    for (const a of task.annotations) if (a.completed_by !== null) named.add(a.completed_by);
  const members = new Set<number>();
  if (named.size > 0) {
    const rows = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.organizationId, actor.organizationId), inArray(users.id, [...named])));
    for (const row of rows) members.add(row.id);
  }

  const taskRows = [];
  const annotationRows = [];
  const predictionRows = [];
  for (let i = 0; i < n; i++) {
    const task = batch[i] as ImportedTask;
    const innerId = first + i;
    let done = 0;
    let cancelled = 0;
    for (const a of task.annotations) {
      if (a.was_cancelled) cancelled++;
      else done++;
      annotationRows.push({
        inner_id: innerId,
        result: a.result,
        was_cancelled: a.was_cancelled,
        completed_by:
          a.completed_by !== null && members.has(a.completed_by) ? a.completed_by : actor.userId,
        lead_time: a.lead_time,
      });
    }
    for (const p of task.predictions) predictionRows.push({ inner_id: innerId, ...p });
    taskRows.push({
      inner_id: innerId,
      data: task.data,
      meta: task.meta,
      is_labeled: done >= project.overlap,
      total_annotations: done,
      cancelled_annotations: cancelled,
      total_predictions: task.predictions.length,
    });
  }

  await tx.execute(sql`
    insert into tasks (project_id, inner_id, data, meta, overlap, is_labeled, total_annotations,
      cancelled_annotations, total_predictions, file_upload_id, created_by)
    select ${project.id}, r.inner_id, r.data, r.meta, ${project.overlap}, r.is_labeled,
      r.total_annotations, r.cancelled_annotations, r.total_predictions,
      ${fileUploadId}::bigint, ${actor.userId}
    from jsonb_to_recordset(${JSON.stringify(taskRows)}::jsonb) as r(inner_id bigint, data jsonb,
      meta jsonb, is_labeled boolean, total_annotations integer, cancelled_annotations integer,
      total_predictions integer)`);
  // Annotations and predictions find their task by (project_id, inner_id), the unique index.
  if (annotationRows.length > 0) {
    await tx.execute(sql`
      insert into annotations (task_id, project_id, result, was_cancelled, completed_by, lead_time)
      select t.id, t.project_id, r.result, r.was_cancelled, r.completed_by, r.lead_time
      from jsonb_to_recordset(${JSON.stringify(annotationRows)}::jsonb) as r(inner_id bigint,
        result jsonb, was_cancelled boolean, completed_by integer, lead_time real)
      join tasks t on t.project_id = ${project.id} and t.inner_id = r.inner_id`);
  }
  if (predictionRows.length > 0) {
    await tx.execute(sql`
      insert into predictions (task_id, project_id, result, score, model_version)
      select t.id, t.project_id, r.result, r.score, r.model_version
      from jsonb_to_recordset(${JSON.stringify(predictionRows)}::jsonb) as r(inner_id bigint,
        result jsonb, score real, model_version text)
      join tasks t on t.project_id = ${project.id} and t.inner_id = r.inner_id`);
  }
  if (!returnTaskIds) return [];
  const ids = await tx
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.projectId, project.id), between(tasks.innerId, first, counter.last)))
    .orderBy(asc(tasks.innerId));
  return ids.map((row) => row.id);
}

/**
 * Imports items into a project. Throws NOT_FOUND for a project outside the caller's
 * organization, BAD_REQUEST with up to 100 `Error at item {i}: ... :: {item}` messages (and
 * writes nothing), or BAD_REQUEST past MAX_IMPORT_TASKS.
 */
export async function importTasks(
  db: Db,
  actor: Actor,
  params: ImportParams,
): Promise<ImportResult> {
  return withIdempotency(
    db,
    actor,
    "task.import",
    params.idempotency ?? { key: undefined, hash: () => "" },
    (txDb) => importNow(txDb, actor, params),
  );
}

async function importNow(db: Db, actor: Actor, params: ImportParams): Promise<ImportResult> {
  const started = performance.now();
  const project = await findProject(db, actor, params.project);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const commit = params.commitToProject ?? true;
  const returnTaskIds = commit && (params.returnTaskIds ?? false);
  const objectTags = objectTagsOf(project.labelConfig);
  const undefinedKey = undefinedKeyOf(objectTags);
  const target = { id: project.id, overlap: project.maximumAnnotations };

  const run = async (tx: Db | null): Promise<ImportResult> => {
    const errors: string[] = [];
    const taskIds: number[] = [];
    const fileUploadIds: number[] = [];
    const foundFormats: Record<string, number> = {};
    let columns: Set<string> | null = null;
    let couldBeList = false;
    let index = 0;
    let annotationCount = 0;
    let predictionCount = 0;

    for await (const source of params.sources) {
      let fileUploadId: number | null = null;
      if (source.file) {
        const ext = `.${source.file.format}`;
        foundFormats[ext] = (foundFormats[ext] ?? 0) + 1;
        couldBeList ||= couldBeTasksList(source.file.format);
        if (tx) {
          const [upload] = await tx
            .insert(fileUploads)
            .values({
              projectId: project.id,
              createdBy: actor.userId,
              fileName: source.file.name,
              format: ext,
            })
            .returning({ id: fileUploads.id });
          if (!upload) throw new Error("file upload insert returned no row");
          fileUploadId = upload.id;
          fileUploadIds.push(upload.id);
        }
      }
      let batch: ImportedTask[] = [];
      let batchBytes = 0;
      const flush = async () => {
        if (tx && batch.length > 0 && errors.length === 0) {
          const ids = await writeBatch(tx, actor, target, fileUploadId, batch, returnTaskIds);
          for (const taskId of ids) taskIds.push(taskId);
        }
        batch = [];
        batchBytes = 0;
      };
      try {
        for await (const item of source.items) {
          if (index >= MAX_IMPORT_TASKS) {
            throw validationError({}, [
              `An import holds at most ${MAX_IMPORT_TASKS.toLocaleString("en-US")} tasks: split this one into several requests.`,
            ]);
          }
          const checked = checkImportItem(objectTags, item, undefinedKey);
          if (!checked.ok) {
            errors.push(`Error at item ${index}: ${checked.issue.message} :: ${preview(item)}`);
            if (errors.length >= MAX_IMPORT_ERRORS) break;
          } else if (errors.length === 0) {
            const prepared = checked.value;
            annotationCount += prepared.annotations.length;
            predictionCount += prepared.predictions.length;
            const keys = Object.keys(prepared.data);
            columns = columns === null ? new Set(keys) : columns;
            if (columns.size > 0 && columns.size !== keys.length) {
              const here = new Set(keys);
              for (const key of columns) if (!here.has(key)) columns.delete(key);
            }
            if (tx) {
              batch.push(prepared);
              // Cut by size too: a few thousand large tasks must not become one huge statement.
              batchBytes += estimateBytes(prepared);
              if (batch.length >= BATCH_TASKS || batchBytes >= BATCH_BYTES) await flush();
            }
          }
          index++;
        }
      } catch (error) {
        if (error instanceof ImportFormatError) {
          const where = source.file ? `${source.file.name}: ` : "";
          throw validationError({}, [`${where}${error.message}`]);
        }
        throw error;
      }
      if (errors.length >= MAX_IMPORT_ERRORS) break;
      await flush();
      if (tx && fileUploadId !== null && source.file?.size) {
        await tx
          .update(fileUploads)
          .set({ size: source.file.size() })
          .where(eq(fileUploads.id, fileUploadId));
      }
    }
    if (errors.length > 0) throw validationError({}, errors);
    if (index === 0) {
      throw validationError({}, [
        "No tasks found in the import: send a JSON array of tasks or a file with at least one row.",
      ]);
    }
    const result: ImportResult = {
      task_count: index,
      annotation_count: annotationCount,
      prediction_count: predictionCount,
      duration: (performance.now() - started) / 1000,
      file_upload_ids: fileUploadIds,
      could_be_tasks_list: couldBeList,
      found_formats: foundFormats,
      data_columns: [...(columns ?? [])].sort(),
    };
    if (returnTaskIds) result.task_ids = taskIds;
    return result;
  };

  if (!commit) return run(null);
  return db.transaction((tx) => run(transactionDb(tx, db)));
}

/** A quick over-estimate of a task's JSON size, to cut batches by bytes as well as count. */
function estimateBytes(task: ImportedTask): number {
  let bytes = 64;
  const walk = (value: unknown, depth: number): void => {
    if (typeof value === "string") bytes += value.length * 2 + 2;
    else if (typeof value === "number" || typeof value === "boolean" || value === null) bytes += 8;
    else if (depth > 32) bytes += 64;
    else if (Array.isArray(value)) for (const v of value) walk(v, depth + 1);
    else if (typeof value === "object")
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        bytes += k.length + 4;
        walk(v, depth + 1);
      }
  };
  walk(task.data, 0);
  walk(task.meta, 0);
  walk(task.annotations, 0);
  walk(task.predictions, 0);
  return bytes;
}
