/**
 * Bulk import: one service behind REST `POST /api/projects/{id}/import`, tRPC `task.import`
 * and the CLI. Items arrive as async sequences (parsed incrementally from files or bodies),
 * are checked with the rules of a single create, and are written in large batches inside one
 * transaction: all or nothing per request (contract section 4).
 *
 * inner_id: batches are staged as they are read (ImportStage), and the import's last step
 * moves the project's counter by their number with one `UPDATE ... + n RETURNING`, taking the
 * project row's lock until commit, and numbers them from it. Single creates take the same
 * lock, so numbers stay unique and dense under any concurrency, and wait only for that last
 * step; nothing ever counts the project's tasks: the cost of an import does not grow with the
 * project. `writeBatch` writes and numbers one batch at once (storage syncs, which commit
 * batch by batch).
 */
import { once } from "node:events";
import { type FileHandle, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import {
  checkImportItem,
  type ImportedTask,
  type ImportResult,
  MAX_IMPORT_TASKS,
  type ObjectTag,
  type ResultRules,
  undefinedKeyOf,
} from "@taskport/schema";
import { and, asc, between, eq, inArray, sql } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { selectList } from "../db/insert-select";
import { annotations, fileUploads, predictions, projects, tasks, users } from "../db/schema";
import { transactionDb } from "../db/transaction";
import { notFound, validationError } from "../errors";
import {
  couldBeTasksList,
  dataKeysOf,
  FileColumns,
  type ImportFormat,
  ImportFormatError,
} from "../import-formats";
import { type IdempotencyRequest, withIdempotency } from "./idempotency";
import { type Preannotated, preannotator } from "./preannotated";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { objectTagsOf, resultRulesFor } from "./task";
import { taskColumns } from "./task-writer";
import { emitTasksDeleted, emitTasksImported } from "./webhook-events";

export { MAX_IMPORT_TASKS };
export const MAX_IMPORT_ERRORS = 100;
/** TASKPORT_MAX_IMPORT_BYTES's default: the largest import request body. */
export const DEFAULT_MAX_IMPORT_BYTES = 250 * 1024 * 1024;
/** Tasks per INSERT; a batch is also cut at BATCH_BYTES of JSON so that memory stays bounded. */
export const BATCH_TASKS = 5000;
const BATCH_BYTES = 16 * 1024 * 1024;
/**
 * Characters of COPY lines written to the staging file at a time (PostgreSQL). A write costs
 * no round trip, and lines written soon die young: a batch held longer outlives the young
 * generation's collections and grows the heap by its size, garbage that no collection
 * reclaims before the import ends.
 */
const STAGE_WRITE_CHARS = 256 * 1024;
/**
 * Staged rows moved into the project per statement at the end of an import. Every statement
 * stays within the per-statement bounds (DATABASE_STATEMENT_TIMEOUT_MS and the answer
 * timeout) however large the import: one INSERT ... SELECT of a million rows would not.
 */
const WRITE_CHUNK_ROWS = 20_000;

/**
 * The columns of an imported annotation or prediction, read from a row `r` of staged or batch
 * rows joined to its task `t`: one list for the staged import and the storage sync's batches.
 */
function importedAnnotationsColumns() {
  return selectList(annotations, {
    id: sql`nextval(pg_get_serial_sequence('annotations', 'id'))`,
    taskId: sql`t.id`,
    projectId: sql`t.project_id`,
    result: sql`r.result`,
    wasCancelled: sql`r.was_cancelled`,
    groundTruth: sql`r.ground_truth`,
    completedBy: sql`r.completed_by`,
    updatedBy: sql`null`,
    leadTime: sql`r.lead_time`,
    draftCreatedAt: sql`null`,
    importId: sql`r.import_id`,
    bulkCreated: sql`false`,
    parentPredictionId: sql`null`,
    parentAnnotationId: sql`null`,
    createdAt: sql`now()`,
    updatedAt: sql`now()`,
  });
}

function importedPredictionsColumns() {
  return selectList(predictions, {
    id: sql`nextval(pg_get_serial_sequence('predictions', 'id'))`,
    taskId: sql`t.id`,
    projectId: sql`t.project_id`,
    result: sql`r.result`,
    score: sql`r.score`,
    modelVersion: sql`r.model_version`,
    cluster: sql`null`,
    neighbors: sql`null`,
    mislabeling: sql`0`,
    createdAt: sql`now()`,
    updatedAt: sql`now()`,
  });
}

export interface ImportFile {
  name: string;
  format: ImportFormat;
  /** The extension as found in `found_formats` (`.png`); `.{format}` when unset. */
  extension?: string;
  /** Where the file is kept under the media folder (services/uploads.ts). */
  stored?: string;
  /** Its existing upload row (a re-import): no new row is made. */
  uploadId?: number;
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
  /**
   * false: items are checked and counted, no task is written; uploaded files are still kept as
   * file uploads (Label Studio's), for a later re-import to make their tasks.
   */
  commitToProject?: boolean;
  returnTaskIds?: boolean;
  /** These data fields of each item become its predictions (services/preannotated.ts). */
  preannotatedFromFields?: readonly string[];
  /** A keyed request answers its first response when replayed (services/idempotency.ts). */
  idempotency?: IdempotencyRequest;
  /** The request's import record (services/import-record.ts), named in the answer. */
  record?: number;
  /** A re-import: these uploads' tasks are deleted first, in the same transaction. */
  replaceTasksOf?: number[];
  /**
   * Sources with no items are an answer of zeros rather than a 400: a re-import of a file that
   * holds no rows removes the upload's tasks and makes none, as Label Studio's does.
   */
  allowEmpty?: boolean;
}

function preview(item: unknown): string {
  const text = JSON.stringify(item) ?? String(item);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * Who an imported annotation is written as: its completed_by when that names a user of the
 * caller's organization; any other id (an export from another server, or another tenant's
 * user) becomes the importing user. One query for all the tasks' annotations.
 */
async function completedByOf(
  tx: Db,
  actor: Actor,
  tasks: ImportedTask[],
): Promise<(id: number | null) => number> {
  const named = new Set<number>();
  for (const task of tasks)
    for (const a of task.annotations) if (a.completed_by !== null) named.add(a.completed_by);
  const members = new Set<number>();
  if (named.size > 0) {
    const rows = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.organizationId, actor.organizationId), inArray(users.id, [...named])));
    for (const row of rows) members.add(row.id);
  }
  return (id) => (id !== null && members.has(id) ? id : actor.userId);
}

/** An imported annotation's columns, as both import paths stage or write them. */
function annotationRow(
  a: ImportedTask["annotations"][number],
  completedBy: (id: number | null) => number,
) {
  return {
    result: a.result,
    was_cancelled: a.was_cancelled,
    ground_truth: a.ground_truth,
    import_id: a.import_id,
    completed_by: completedBy(a.completed_by),
    lead_time: a.lead_time,
  };
}

/**
 * Writes one batch: moves the project's counter by its size (taking or re-entering the row
 * lock) and inserts its tasks, annotations and predictions with one statement each. The rows
 * travel as one JSON parameter expanded by `jsonb_to_recordset`, which costs one round trip
 * and no per-row parameters whatever the batch size, on both drivers.
 */
export async function writeBatch(
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

  const completedBy = await completedByOf(tx, actor, batch);

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
      annotationRows.push({ inner_id: innerId, ...annotationRow(a, completedBy) });
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

  await tx.insert(tasks).select(
    sql`select ${taskColumns({
      projectId: sql`${project.id}::int`,
      innerId: sql`r.inner_id`,
      data: sql`r.data`,
      meta: sql`r.meta`,
      overlap: sql`${project.overlap}::int`,
      createdBy: sql`${actor.userId}::int`,
      isLabeled: sql`r.is_labeled`,
      totalAnnotations: sql`r.total_annotations`,
      cancelledAnnotations: sql`r.cancelled_annotations`,
      totalPredictions: sql`r.total_predictions`,
      fileUploadId: sql`${fileUploadId}::bigint`,
    })}
    from jsonb_to_recordset(${JSON.stringify(taskRows)}::jsonb) as r(inner_id bigint, data jsonb,
      meta jsonb, is_labeled boolean, total_annotations integer, cancelled_annotations integer,
      total_predictions integer)`,
  );
  // Annotations and predictions find their task by (project_id, inner_id), the unique index.
  // Drizzle lists their GENERATED ALWAYS ids too, and drops overridingSystemValue() on
  // INSERT ... SELECT: the clause is written here, before the SELECT, where it belongs.
  if (annotationRows.length > 0) {
    await tx.insert(annotations).select(
      sql`overriding system value select ${importedAnnotationsColumns()}
      from jsonb_to_recordset(${JSON.stringify(annotationRows)}::jsonb) as r(inner_id bigint,
        result jsonb, was_cancelled boolean, ground_truth boolean, import_id bigint,
        completed_by integer, lead_time real)
      join tasks t on t.project_id = ${project.id} and t.inner_id = r.inner_id`,
    );
  }
  if (predictionRows.length > 0) {
    await tx.insert(predictions).select(
      sql`overriding system value select ${importedPredictionsColumns()}
      from jsonb_to_recordset(${JSON.stringify(predictionRows)}::jsonb) as r(inner_id bigint,
        result jsonb, score real, model_version text)
      join tasks t on t.project_id = ${project.id} and t.inner_id = r.inner_id`,
    );
  }
  await emitTasksImported(tx, project.id, first, counter.last);
  if (!returnTaskIds) return [];
  const ids = await tx
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.projectId, project.id), between(tasks.innerId, first, counter.last)))
    .orderBy(asc(tasks.innerId));
  return ids.map((row) => row.id);
}

/** The columns of `tasks` an import's COPY writes, in its rows' order; the others take their defaults. */
const COPY_TASKS = `copy tasks (inner_id, project_id, data, meta, overlap, created_by, is_labeled,
  total_annotations, cancelled_annotations, total_predictions, file_upload_id) from stdin`;

/** A JSON value as a field of COPY's text format (JSON text has no raw control character). */
function copyJson(value: unknown): string {
  const text = JSON.stringify(value);
  return text.includes("\\") ? text.replaceAll("\\", "\\\\") : text;
}

interface CopyClient {
  unsafe(query: string): PromiseLike<unknown> & {
    writable(): Promise<Writable>;
    reject: (error: unknown) => void;
  };
}

/** The postgres.js connection of a Drizzle transaction on PostgreSQL. */
function copyClient(tx: Db): CopyClient {
  return (tx as unknown as { session: { client: CopyClient } }).session.client;
}

/**
 * One COPY FROM STDIN of `rows` (whole lines of COPY text). postgres.js settles a COPY's
 * stream when the server answers its end; an error the server reports after the last row was
 * sent reaches only the query's own promise, which has already resolved with the stream: it is
 * caught here, or the import would wait forever.
 */
async function copyIn(client: CopyClient, rows: AsyncIterable<Buffer>): Promise<void> {
  const query = client.unsafe(COPY_TASKS);
  const reject = query.reject;
  const failed = new Promise<never>((_, fail) => {
    query.reject = (error) => {
      fail(error);
      reject(error);
    };
  });
  failed.catch(() => {});
  const stream = await Promise.race([query.writable(), failed]);
  const sending = (async () => {
    for await (const chunk of rows) if (!stream.write(chunk)) await once(stream, "drain");
    stream.end();
    await finished(stream);
  })();
  await Promise.race([sending, failed]);
}

/**
 * An import's rows before they are numbered: each batch is written, as it is read, outside the
 * project's tables (no index, no lock on the project), and `commit` numbers and moves them
 * into `tasks`, `annotations` and `predictions` at the end. Only that last step takes the
 * project's row lock (through its counter), so single creates into the project wait for the
 * final write, not for the whole upload, parsing and checking included. A staged row's `ord`
 * is its place in the import (1..n): its inner_id is the counter's first number plus `ord` -
 * 1, so numbers stay dense and follow the input.
 *
 * On PostgreSQL tasks are staged as lines of COPY text in a file of the import's own (unlinked
 * at once: nothing is left behind, even by a crash) and written with COPY, the database's
 * fastest path (rows inserted in bulk, one statement per WRITE_CHUNK_ROWS); an INSERT ...
 * SELECT from a staging table inserts row by row and costs about twice as much under the
 * lock. PGlite (one connection, no COPY FROM STDIN) stages them in a temporary table.
 * Annotations and predictions are staged in temporary tables on both: they find their task
 * by (project_id, inner_id) once the tasks are written.
 */
class ImportStage {
  private staged = 0;
  private annotations = 0;
  private predictions = 0;
  private created = false;
  private file: FileHandle | null = null;
  /** What `take` staged since the last `flush`. */
  private pendingLines = "";
  private pendingTasks: { ord: number; task: ImportedTask; fileUploadId: number | null }[] = [];
  private pendingChildren: { ord: number; task: ImportedTask }[] = [];

  constructor(
    private readonly tx: Db,
    private readonly actor: Actor,
    private readonly project: { id: number; overlap: number },
  ) {}

  get size(): number {
    return this.staged;
  }

  /** Whether what `take` staged should be written now, whatever the batch's size. */
  get full(): boolean {
    return this.pendingLines.length >= STAGE_WRITE_CHARS;
  }

  private get copies(): boolean {
    return this.tx.$driver === "postgres";
  }

  private async create(): Promise<void> {
    if (this.created) return;
    this.created = true;
    if (this.copies) {
      const dir = await mkdtemp(join(tmpdir(), "taskport-import-"));
      try {
        this.file = await open(join(dir, "tasks"), "w+");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } else {
      // Keyed by ord, so that each final move reads one range.
      await this.tx.execute(sql`create temporary table import_staged_tasks (ord bigint primary key,
        data jsonb not null, meta jsonb not null, is_labeled boolean not null,
        total_annotations integer not null, cancelled_annotations integer not null,
        total_predictions integer not null, file_upload_id bigint) on commit drop`);
    }
    await this.tx.execute(sql`create temporary table import_staged_annotations (ord bigint not null,
      result jsonb, was_cancelled boolean, ground_truth boolean, import_id bigint,
      completed_by integer, lead_time real) on commit drop`);
    await this.tx.execute(sql`create index on import_staged_annotations (ord)`);
    await this.tx.execute(sql`create temporary table import_staged_predictions (ord bigint not null,
      result jsonb, score real, model_version text) on commit drop`);
    await this.tx.execute(sql`create index on import_staged_predictions (ord)`);
  }

  /** Closes the staging file, if any (it was unlinked when opened). */
  async close(): Promise<void> {
    await this.file?.close();
    this.file = null;
  }

  /**
   * Stages one checked task (its place is the next ord) until `flush`, and answers about how
   * many bytes of memory it holds until then. On PostgreSQL its COPY line is made at once,
   * and only a task with annotations or predictions is kept as it is.
   */
  take(task: ImportedTask, fileUploadId: number | null): number {
    const ord = ++this.staged;
    const children = task.annotations.length > 0 || task.predictions.length > 0;
    if (children) this.pendingChildren.push({ ord, task });
    if (!this.copies) {
      this.pendingTasks.push({ ord, task, fileUploadId });
      return estimateBytes(task);
    }
    let done = 0;
    let cancelled = 0;
    for (const a of task.annotations) {
      if (a.was_cancelled) cancelled++;
      else done++;
    }
    // A COPY line without its inner_id (added by the final write), in COPY_TASKS's order.
    const line = `${this.project.id}\t${copyJson(task.data)}\t${copyJson(task.meta)}\t${this.project.overlap}\t${this.actor.userId}\t${done >= this.project.overlap ? "t" : "f"}\t${done}\t${cancelled}\t${task.predictions.length}\t${fileUploadId ?? "\\N"}\n`;
    this.pendingLines += line;
    return line.length * 2 + (children ? estimateBytes(task) : 0);
  }

  /** Forgets what `take` staged since the last `flush`. */
  drop(): void {
    this.pendingLines = "";
    this.pendingTasks = [];
    this.pendingChildren = [];
  }

  /** Writes what `take` staged: one file write, or one round trip per table. */
  async flush(): Promise<void> {
    const tasksToWrite = this.pendingTasks;
    const lines = this.pendingLines;
    const children = this.pendingChildren;
    this.pendingTasks = [];
    this.pendingLines = "";
    this.pendingChildren = [];
    if (tasksToWrite.length === 0 && lines === "" && children.length === 0) return;
    await this.create();
    const { tx, actor, project } = this;
    if (this.file) {
      await this.file.write(lines);
    } else {
      const taskRows = tasksToWrite.map(({ ord, task, fileUploadId }) => {
        let done = 0;
        for (const a of task.annotations) if (!a.was_cancelled) done++;
        return {
          ord,
          data: task.data,
          meta: task.meta,
          is_labeled: done >= project.overlap,
          total_annotations: done,
          cancelled_annotations: task.annotations.length - done,
          total_predictions: task.predictions.length,
          file_upload_id: fileUploadId,
        };
      });
      await tx.execute(sql`insert into import_staged_tasks
        select * from jsonb_to_recordset(${JSON.stringify(taskRows)}::jsonb) as r(ord bigint,
          data jsonb, meta jsonb, is_labeled boolean, total_annotations integer,
          cancelled_annotations integer, total_predictions integer, file_upload_id bigint)`);
    }
    if (children.length === 0) return;
    const completedBy = await completedByOf(
      tx,
      actor,
      children.map((child) => child.task),
    );
    const annotationRows = [];
    const predictionRows = [];
    for (const { ord, task } of children) {
      for (const a of task.annotations) {
        annotationRows.push({ ord, ...annotationRow(a, completedBy) });
      }
      for (const p of task.predictions) predictionRows.push({ ord, ...p });
    }
    if (annotationRows.length > 0) {
      this.annotations += annotationRows.length;
      await tx.execute(sql`insert into import_staged_annotations
        select * from jsonb_to_recordset(${JSON.stringify(annotationRows)}::jsonb) as r(ord bigint,
          result jsonb, was_cancelled boolean, ground_truth boolean, import_id bigint,
          completed_by integer, lead_time real)`);
    }
    if (predictionRows.length > 0) {
      this.predictions += predictionRows.length;
      await tx.execute(sql`insert into import_staged_predictions
        select * from jsonb_to_recordset(${JSON.stringify(predictionRows)}::jsonb) as r(ord bigint,
          result jsonb, score real, model_version text)`);
    }
  }

  /**
   * The staged lines, numbered from `first`, in runs of WRITE_CHUNK_ROWS lines: each run is
   * an async sequence of buffers of whole lines, to be written by one COPY.
   */
  private async *numberedRuns(first: number): AsyncGenerator<AsyncGenerator<Buffer>> {
    const file = this.file as FileHandle;
    const reads = file
      .createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 })
      [Symbol.asyncIterator]();
    let next = first;
    let rest: Buffer = Buffer.alloc(0);
    let data: Buffer = Buffer.alloc(0);
    let at = 0;
    let ended = false;
    const left = () => next - first < this.staged;
    try {
      while (left()) {
        let inRun = 0;
        yield (async function* () {
          while (inRun < WRITE_CHUNK_ROWS && !ended) {
            if (at >= data.length) {
              const read = await reads.next();
              if (read.done) {
                ended = true;
                break;
              }
              data =
                rest.length > 0
                  ? Buffer.concat([rest, read.value as Buffer])
                  : (read.value as Buffer);
              at = 0;
              rest = Buffer.alloc(0);
            }
            // The whole lines of `data` this run still takes, then one buffer of them, each
            // behind its inner_id.
            let lines = 0;
            let end = at;
            for (let nl = data.indexOf(10, at); nl !== -1 && inRun + lines < WRITE_CHUNK_ROWS; ) {
              lines++;
              end = nl + 1;
              nl = data.indexOf(10, end);
            }
            if (lines > 0) {
              const out = Buffer.allocUnsafe(end - at + lines * 21);
              let length = 0;
              for (let line = 0; line < lines; line++) {
                const nl = data.indexOf(10, at);
                length += out.write(`${next++}\t`, length, "latin1");
                length += data.copy(out, length, at, nl + 1);
                at = nl + 1;
              }
              inRun += lines;
              yield out.subarray(0, length);
            }
            if (data.indexOf(10, at) === -1) {
              rest = data.subarray(at);
              at = data.length;
            }
          }
        })();
        if (inRun === 0 && ended) break;
      }
    } finally {
      // Abandoned on a failed COPY too: the read stream is let go of either way.
      await reads.return?.();
    }
    if (next - first !== this.staged)
      throw new Error(`The import's staging file holds ${next - first} of ${this.staged} rows.`);
  }

  /** Moves the staged annotations and predictions of ords `from`..`to` to their tasks. */
  private async writeChildren(first: number, from: number, to: number): Promise<void> {
    const { tx, project } = this;
    // Annotations and predictions find their task by (project_id, inner_id), the unique index.
    // Drizzle lists their GENERATED ALWAYS ids too, and drops overridingSystemValue() on
    // INSERT ... SELECT: the clause is written here, before the SELECT, where it belongs.
    if (this.annotations > 0) {
      await tx.insert(annotations).select(
        sql`overriding system value select ${importedAnnotationsColumns()}
        from import_staged_annotations r
        join tasks t on t.project_id = ${project.id} and t.inner_id = ${first - 1}::bigint + r.ord
        where r.ord between ${from} and ${to}`,
      );
    }
    if (this.predictions > 0) {
      await tx.insert(predictions).select(
        sql`overriding system value select ${importedPredictionsColumns()}
        from import_staged_predictions r
        join tasks t on t.project_id = ${project.id} and t.inner_id = ${first - 1}::bigint + r.ord
        where r.ord between ${from} and ${to}`,
      );
    }
  }

  /** Moves the staged rows `from`..`to` (by ord) of the temporary table into the project. */
  private async writeStagedTasks(first: number, from: number, to: number): Promise<void> {
    const { tx, actor, project } = this;
    await tx.insert(tasks).select(
      sql`select ${taskColumns({
        projectId: sql`${project.id}::int`,
        innerId: sql`${first - 1}::bigint + s.ord`,
        data: sql`s.data`,
        meta: sql`s.meta`,
        overlap: sql`${project.overlap}::int`,
        createdBy: sql`${actor.userId}::int`,
        isLabeled: sql`s.is_labeled`,
        totalAnnotations: sql`s.total_annotations`,
        cancelledAnnotations: sql`s.cancelled_annotations`,
        totalPredictions: sql`s.total_predictions`,
        fileUploadId: sql`s.file_upload_id`,
      })}
      from import_staged_tasks s where s.ord between ${from} and ${to} order by s.ord`,
    );
  }

  /**
   * Numbers the staged rows and writes them: moves the project's counter by their number
   * (taking its row lock until the transaction commits), then writes WRITE_CHUNK_ROWS tasks
   * per statement, and their annotations and predictions. Returns the tasks' ids in import
   * order when asked.
   */
  async commit(returnTaskIds: boolean): Promise<number[]> {
    const n = this.staged;
    if (n === 0) return [];
    const { tx, project } = this;
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
    if (this.file) {
      const client = copyClient(tx);
      let from = 1;
      for await (const run of this.numberedRuns(first)) {
        await copyIn(client, run);
        const to = Math.min(from + WRITE_CHUNK_ROWS - 1, n);
        await this.writeChildren(first, from, to);
        from = to + 1;
      }
    } else {
      for (let from = 1; from <= n; from += WRITE_CHUNK_ROWS) {
        const to = Math.min(from + WRITE_CHUNK_ROWS - 1, n);
        await this.writeStagedTasks(first, from, to);
        await this.writeChildren(first, from, to);
      }
    }
    for (let from = first; from <= counter.last; from += BATCH_TASKS)
      await emitTasksImported(tx, project.id, from, Math.min(from + BATCH_TASKS - 1, counter.last));
    if (!returnTaskIds) return [];
    const ids = await tx
      .select({ id: tasks.id })
      .from(tasks)
      .where(and(eq(tasks.projectId, project.id), between(tasks.innerId, first, counter.last)))
      .orderBy(asc(tasks.innerId));
    return ids.map((row) => row.id);
  }
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
    async (txDb) => {
      const result = await importNow(txDb, actor, params);
      // Part of the stored answer: a replay names the first request's record.
      return params.record === undefined ? result : { ...result, import: params.record };
    },
  );
}

async function importNow(db: Db, actor: Actor, params: ImportParams): Promise<ImportResult> {
  const started = performance.now();
  const project = await findProject(db, actor, params.project);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const commit = params.commitToProject ?? true;
  const read = async (tx: Db) => {
    const run = new ImportRun(tx, actor, project, {
      writeTasks: commit,
      returnTaskIds: commit && (params.returnTaskIds ?? false),
      preannotatedFromFields: params.preannotatedFromFields,
      allowEmpty: params.allowEmpty ?? false,
    });
    try {
      for await (const source of params.sources) {
        await run.read(source);
        if (run.stopped) break;
      }
      await run.commit();
    } finally {
      await run.close();
    }
    return run.result(started);
  };
  return db.transaction(async (tx) => {
    const txDb = transactionDb(tx, db);
    if (commit && params.replaceTasksOf?.length)
      await deleteUploadTasks(txDb, project.id, params.replaceTasksOf);
    return read(txDb);
  });
}

/** Deletes the tasks made from these uploads (Label Studio's remove_tasks_by_file_uploads). */
async function deleteUploadTasks(tx: Db, projectId: number, uploads: number[]): Promise<void> {
  const gone = await tx
    .delete(tasks)
    .where(and(eq(tasks.projectId, projectId), inArray(tasks.fileUploadId, uploads)))
    .returning({ id: tasks.id });
  if (gone.length === 0) return;
  await tx
    .update(projects)
    .set({ taskNumber: sql`${projects.taskNumber} - ${gone.length}` })
    .where(eq(projects.id, projectId));
  await emitTasksDeleted(
    tx,
    projectId,
    gone.map((row) => row.id),
  );
}

/**
 * One import as it reads its sources: items are checked one by one and, when the import
 * commits (`tx`), written in batches; after the first bad item nothing more is written, and
 * the reading stops at MAX_IMPORT_ERRORS.
 */
class ImportRun {
  private readonly errors: string[] = [];
  private readonly taskIds: number[] = [];
  private readonly fileUploadIds: number[] = [];
  /** `found_formats`: each file's extension, in order (see ImportResult). */
  private readonly foundFormats: string[] = [];
  private readonly objectTags: ObjectTag[];
  private readonly undefinedKey: string;
  private readonly results: ResultRules;
  private readonly target: { id: number; overlap: number };
  private readonly columns = new FileColumns();
  private couldBeList = false;
  private index = 0;
  private annotationCount = 0;
  private predictionCount = 0;
  private batchTasks = 0;
  private batchBytes = 0;
  private fileUploadId: number | null = null;
  /** Where tasks are written; none when the import does not commit them. */
  private readonly stage: ImportStage | null;
  private readonly returnTaskIds: boolean;
  private readonly allowEmpty: boolean;
  private readonly preannotate: ((item: unknown) => Preannotated) | null;

  constructor(
    private readonly tx: Db,
    private readonly actor: Actor,
    project: { id: number; labelConfig: string; maximumAnnotations: number },
    options: {
      writeTasks: boolean;
      returnTaskIds: boolean;
      preannotatedFromFields?: readonly string[];
      allowEmpty: boolean;
    },
  ) {
    this.objectTags = objectTagsOf(project.labelConfig);
    this.undefinedKey = undefinedKeyOf(this.objectTags);
    this.results = resultRulesFor(project.labelConfig);
    this.target = { id: project.id, overlap: project.maximumAnnotations };
    this.stage = options.writeTasks ? new ImportStage(tx, actor, this.target) : null;
    this.returnTaskIds = options.returnTaskIds;
    this.allowEmpty = options.allowEmpty;
    this.preannotate = options.preannotatedFromFields?.length
      ? preannotator(this.results, options.preannotatedFromFields)
      : null;
  }

  /** Whether there are so many errors that reading on is pointless. */
  get stopped(): boolean {
    return this.errors.length >= MAX_IMPORT_ERRORS;
  }

  async read(source: ImportSource): Promise<void> {
    await this.openFile(source.file);
    let first = source.file !== undefined;
    try {
      for await (const item of source.items) {
        if (first && source.file) {
          const { format, name, stored } = source.file;
          const clash = this.columns.add(dataKeysOf(item, format), stored ?? name);
          if (clash) throw validationError({}, [clash]);
          first = false;
        }
        this.accept(item);
        if (this.stopped) return;
        if (this.batchTasks >= BATCH_TASKS || this.batchBytes >= BATCH_BYTES || this.stage?.full)
          await this.flush();
      }
    } catch (error) {
      if (error instanceof ImportFormatError) {
        const where = source.file ? `${source.file.name}: ` : "";
        throw validationError({}, [`${where}${error.message}`]);
      }
      throw error;
    }
    await this.flush();
    await this.closeFile(source.file);
  }

  /** A `file_uploads` row for an uploaded file: its tasks point to it. */
  private async openFile(file: ImportFile | undefined): Promise<void> {
    this.fileUploadId = null;
    if (!file) return;
    const ext = file.extension ?? `.${file.format}`;
    this.foundFormats.push(ext);
    this.couldBeList ||= couldBeTasksList(file.format);
    if (file.uploadId !== undefined) {
      this.fileUploadId = file.uploadId;
      this.fileUploadIds.push(file.uploadId);
      return;
    }
    const [upload] = await this.tx
      .insert(fileUploads)
      .values({
        projectId: this.target.id,
        createdBy: this.actor.userId,
        fileName: file.name,
        format: ext,
        file: file.stored,
      })
      .returning({ id: fileUploads.id });
    if (!upload) throw new Error("file upload insert returned no row");
    this.fileUploadId = upload.id;
    this.fileUploadIds.push(upload.id);
  }

  private async closeFile(file: ImportFile | undefined): Promise<void> {
    if (this.fileUploadId !== null && file?.size) {
      await this.tx
        .update(fileUploads)
        .set({ size: file.size() })
        .where(eq(fileUploads.id, this.fileUploadId));
    }
  }

  private accept(item: unknown): void {
    if (this.index >= MAX_IMPORT_TASKS) {
      throw validationError({}, [
        `An import holds at most ${MAX_IMPORT_TASKS.toLocaleString("en-US")} tasks: split this one into several requests.`,
      ]);
    }
    const reformed = this.preannotate ? this.preannotate(item) : { ok: true as const, item };
    const checked = reformed.ok
      ? checkImportItem(this.objectTags, reformed.item, this.undefinedKey, this.results)
      : { ok: false as const, issue: { message: reformed.message } };
    if (!checked.ok) {
      this.errors.push(`Error at item ${this.index}: ${checked.issue.message} :: ${preview(item)}`);
      if (this.stopped) return;
    } else if (this.errors.length === 0) {
      const task = checked.value;
      this.annotationCount += task.annotations.length;
      this.predictionCount += task.predictions.length;
      if (this.stage) {
        this.batchTasks++;
        // Cut by size too: a few thousand large tasks must not become one huge statement.
        this.batchBytes += this.stage.take(task, this.fileUploadId);
      }
    }
    this.index++;
  }

  private async flush(): Promise<void> {
    // After a bad item nothing more is written: the import fails as a whole.
    if (this.errors.length === 0) await this.stage?.flush();
    else this.stage?.drop();
    this.batchTasks = 0;
    this.batchBytes = 0;
  }

  /** Numbers and writes what was staged, once every source is read without an error. */
  async commit(): Promise<void> {
    if (!this.stage || this.errors.length > 0) return;
    for (const taskId of await this.stage.commit(this.returnTaskIds)) this.taskIds.push(taskId);
  }

  /** Lets go of the staging file, whatever the outcome. */
  async close(): Promise<void> {
    await this.stage?.close();
  }

  /** Label Studio's answer, or the errors (BAD_REQUEST, and the transaction rolls back). */
  result(started: number): ImportResult {
    if (this.errors.length > 0) throw validationError({}, this.errors);
    if (this.index === 0 && !this.allowEmpty) {
      throw validationError({}, [
        "No tasks found in the import: send a JSON array of tasks or a file with at least one row.",
      ]);
    }
    const result: ImportResult = {
      task_count: this.index,
      annotation_count: this.annotationCount,
      prediction_count: this.predictionCount,
      duration: (performance.now() - started) / 1000,
      file_upload_ids: this.fileUploadIds,
      could_be_tasks_list: this.couldBeList,
      found_formats: this.foundFormats,
      data_columns: this.columns.list(),
    };
    if (this.returnTaskIds) result.task_ids = this.taskIds;
    return result;
  }
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
