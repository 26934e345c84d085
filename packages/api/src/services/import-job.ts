/**
 * Asynchronous imports (Label Studio's async import): a REST import whose files are large
 * (TASKPORT_ASYNC_IMPORT_BYTES) or that asks for it (`async=true`) keeps its files as uploads,
 * writes its record as `created` and enqueues an `import` job, all in one transaction, and
 * answers `{"import": id, "job": id}` at once; the client polls the record
 * (GET /api/projects/{id}/imports/{import}/) or the job (GET /api/jobs/{id}/).
 *
 * The job reads the kept files through importTasks, in the import's single transaction, which
 * also completes the record and commits only while the attempt owns the job: a failed,
 * cancelled or killed attempt leaves no tasks, a retry (after kill -9, a stale heartbeat)
 * imports from the start without duplicates, and one that finds the record completed (its
 * predecessor stopped between that commit and the job's end) only ends the job. A failed or
 * cancelled import removes its uploads, as a failed synchronous import leaves none.
 */
import { TRPCError } from "@trpc/server";
import { asc, eq, inArray, sql } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { fileUploads, projectImports } from "../db/schema";
import { transactionDb } from "../db/transaction";
import {
  backoff,
  JobCancelled,
  type JobContext,
  type JobDefinition,
  JobInterrupted,
  JobSuperseded,
  type JobSystem,
  PermanentJobError,
} from "../jobs/system";
import { type ImportSource, importTasks } from "./import";
import { completeImportRecord, failImportRecord } from "./import-record";
import { findProject } from "./project";
import { objectTagsOf } from "./task";
import { removeStored, storedSource, type UploadSettings, variableCount } from "./uploads";

export const IMPORT_QUEUE = "import";
/** TASKPORT_ASYNC_IMPORT_BYTES's default: multipart imports larger than this run as jobs. */
export const DEFAULT_ASYNC_IMPORT_BYTES = 64 * 1024 * 1024;
const IMPORT_RETRY = backoff(3, 5);
/** How often a running import writes its progress (PostgreSQL only, see below). */
const PROGRESS_MS = 1000;

export const IMPORT_CANCELLED = "The import was cancelled.";
const IMPORT_SERVER_FAILED = "Internal server error";

export interface ImportJobData {
  import: number;
}

/** A file of the request, already kept under the media folder. */
export interface KeptFile {
  name: string;
  stored: string;
  /** `found_formats`'s extension (`.csv`). */
  extension: string;
  size: number;
}

export interface AsyncImportInput {
  project: number;
  commitToProject: boolean;
  returnTaskIds: boolean;
  preannotatedFromFields?: readonly string[];
  files: KeptFile[];
}

/** Label Studio's answer to an asynchronous import, plus the job that runs it. */
export interface AsyncImportAnswer {
  import: number;
  job: string;
}

/**
 * The upload rows, the `created` record and the job, in `tx` (the caller's transaction, which
 * also holds the idempotency key): all of them or none.
 */
export async function startAsyncImport(
  tx: Db,
  system: JobSystem,
  actor: Actor,
  input: AsyncImportInput,
): Promise<AsyncImportAnswer> {
  const uploads =
    input.files.length === 0
      ? []
      : await tx
          .insert(fileUploads)
          .values(
            input.files.map((file) => ({
              projectId: input.project,
              createdBy: actor.userId,
              fileName: file.name,
              format: file.extension,
              file: file.stored,
              size: file.size,
            })),
          )
          .returning({ id: fileUploads.id });
  const [record] = await tx
    .insert(projectImports)
    .values({
      projectId: input.project,
      createdBy: actor.userId,
      status: "created",
      commitToProject: input.commitToProject,
      returnTaskIds: input.returnTaskIds,
      preannotatedFromFields: input.preannotatedFromFields?.length
        ? [...input.preannotatedFromFields]
        : null,
      fileUploadIds: uploads.map((row) => row.id),
    })
    .returning({ id: projectImports.id });
  if (!record) throw new Error("project import insert returned no row");
  const { job } = await system.enqueue(
    IMPORT_QUEUE,
    { import: record.id } satisfies ImportJobData,
    { organizationId: actor.organizationId, tx },
  );
  return { import: record.id, job: job.id };
}

/** Removes an import's uploads (rows, then files) after it failed or was cancelled. */
async function dropUploads(db: Db, settings: UploadSettings | null, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  const gone = await db
    .delete(fileUploads)
    .where(inArray(fileUploads.id, ids))
    .returning({ file: fileUploads.file });
  if (settings)
    await removeStored(
      settings,
      gone.flatMap((row) => (row.file ? [row.file] : [])),
    );
}

/** The error a stopped attempt throws, by the reason its signal was aborted with. */
function stopped(signal: AbortSignal): Error {
  if (signal.reason === "cancelled") return new JobCancelled();
  if (signal.reason === "superseded") return new JobSuperseded();
  return new JobInterrupted();
}

export function importDefinition(db: Db, settings: UploadSettings): JobDefinition<ImportJobData> {
  return {
    queue: IMPORT_QUEUE,
    retry: IMPORT_RETRY,
    handler: (context) => runImport(db, settings, context),
    // Cancelled before it ran: the record says so and the uploads go, with the cancel.
    cancelled: async (tx, data) => {
      await failImportRecord(
        tx,
        data.import,
        new TRPCError({ code: "CONFLICT", message: IMPORT_CANCELLED }),
      );
      const [record] = await tx
        .select({ uploads: projectImports.fileUploadIds })
        .from(projectImports)
        .where(eq(projectImports.id, data.import));
      // The rows go now; their files are no row's any more and the upload sweep removes them.
      await dropUploads(tx, null, record?.uploads ?? []);
    },
  };
}

async function runImport(db: Db, settings: UploadSettings, job: JobContext<ImportJobData>) {
  const [record] = await db
    .select()
    .from(projectImports)
    .where(eq(projectImports.id, job.data.import));
  // Deleted with its project: nothing to import.
  if (!record) return null;
  // An earlier attempt committed the import and its process stopped before the job was marked
  // completed: the tasks are there, the job only has to end.
  if (record.status === "completed") return { import: record.id, task_count: record.taskCount };
  const uploadIds = record.fileUploadIds;
  const fail = async (error: unknown) => {
    await failImportRecord(db, record.id, error);
    await dropUploads(db, settings, uploadIds);
  };
  if (record.createdBy === null || job.organizationId === null) {
    const error = new PermanentJobError("The user who started this import no longer exists.");
    await fail(new TRPCError({ code: "NOT_FOUND", message: error.message }));
    throw error;
  }
  const actor: Actor = { userId: record.createdBy, organizationId: job.organizationId };
  await db
    .update(projectImports)
    .set({ status: "in_progress", updatedAt: new Date() })
    .where(eq(projectImports.id, record.id));

  let read = 0;
  let reported = Date.now();
  // On PGlite (one connection) the import's transaction holds the database until it ends:
  // progress is then written once, at the end.
  const live = db.$driver !== "pglite";
  const counted = (items: AsyncIterable<unknown> | Iterable<unknown>) =>
    (async function* () {
      for await (const item of items) {
        if (job.signal.aborted) throw stopped(job.signal);
        read++;
        // The first row read is reported at once (the job has visibly started), then every
        // PROGRESS_MS: reading a file can take less than PROGRESS_MS before the rows are written.
        if (live && (read === 1 || Date.now() - reported >= PROGRESS_MS)) {
          reported = Date.now();
          await job.setProgress({ tasks_read: read, tasks_written: 0 });
        }
        yield item;
      }
      if (job.signal.aborted) throw stopped(job.signal);
    })();

  try {
    const project = await findProject(db, actor, record.projectId);
    const variables = variableCount(objectTagsOf(project?.labelConfig ?? "<View/>"));
    const rows =
      uploadIds.length === 0
        ? []
        : await db
            .select({ id: fileUploads.id, file: fileUploads.file, fileName: fileUploads.fileName })
            .from(fileUploads)
            .where(inArray(fileUploads.id, uploadIds))
            .orderBy(asc(fileUploads.id));
    const sources = (function* (): Generator<ImportSource> {
      for (const row of rows) {
        if (!row.file) continue;
        const source = storedSource(settings, row.file, variables);
        yield {
          items: counted(source.items),
          file: {
            name: row.fileName,
            format: source.format ?? "json",
            extension: source.extension,
            stored: row.file,
            uploadId: row.id,
          },
        };
      }
    })();
    // The tasks, the completed record and the final progress commit together, and only while
    // this attempt owns the job: a retry finds either nothing imported or the record completed.
    let taskCount = 0;
    await job.commit(async (t) => {
      // A job's import may write for longer than a request's statement bound
      // (DATABASE_STATEMENT_TIMEOUT_MS): its transaction lifts it, for itself alone.
      await t.execute(sql`select set_config('statement_timeout', '0', true)`);
      const tx = transactionDb(t, db);
      const result = await importTasks(tx, actor, {
        project: record.projectId,
        sources,
        commitToProject: record.commitToProject,
        returnTaskIds: record.returnTaskIds,
        preannotatedFromFields: record.preannotatedFromFields ?? undefined,
        record: record.id,
      });
      await completeImportRecord(tx, record.id, result);
      taskCount = result.task_count;
      return { tasks_read: read, tasks_written: record.commitToProject ? taskCount : 0 };
    });
    return { import: record.id, task_count: taskCount };
  } catch (error) {
    if (error instanceof JobCancelled) {
      await fail(new TRPCError({ code: "CONFLICT", message: IMPORT_CANCELLED }));
      throw error;
    }
    // Another attempt goes on with it.
    if (error instanceof JobSuperseded || error instanceof JobInterrupted) throw error;
    if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") {
      // The import itself is wrong (a bad item, an unreadable file): retrying cannot help.
      await fail(error);
      throw new PermanentJobError(error.message);
    }
    if (job.attempt >= IMPORT_RETRY.attempts) await fail(new Error(IMPORT_SERVER_FAILED));
    throw error;
  }
}
