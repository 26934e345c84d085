/**
 * Import records (Label Studio's ProjectImport): every import request through REST gets one,
 * written outside the import's own transaction so that a failed import keeps its record
 * (`failed`, with the reason) while its tasks roll back. Read by
 * GET /api/projects/{id}/imports/{import_pk}/ (the SDK's `tasks.create_many_status`).
 */
import type { ImportResult, ProjectImport } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, eq, sql } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { projectImports, projects } from "../db/schema";
import { notFound, STORAGE_FULL, storageFull } from "../errors";

export const IMPORT_NOT_FOUND = "No ProjectImport matches the given query.";

export interface ImportRecordInput {
  project: number;
  commitToProject: boolean;
  returnTaskIds: boolean;
  preannotatedFromFields?: readonly string[];
}

/** A record `in_progress` for an import about to run in a project of the caller. */
export async function startImportRecord(
  db: Db,
  actor: Actor,
  input: ImportRecordInput,
): Promise<number> {
  const [row] = await db
    .insert(projectImports)
    .values({
      projectId: input.project,
      createdBy: actor.userId,
      status: "in_progress",
      commitToProject: input.commitToProject,
      returnTaskIds: input.returnTaskIds,
      preannotatedFromFields: input.preannotatedFromFields?.length
        ? [...input.preannotatedFromFields]
        : null,
    })
    .returning({ id: projectImports.id });
  if (!row) throw new Error("project import insert returned no row");
  return row.id;
}

export async function completeImportRecord(
  db: Db,
  id: number,
  result: ImportResult,
): Promise<void> {
  await db
    .update(projectImports)
    .set({
      status: "completed",
      taskCount: result.task_count,
      annotationCount: result.annotation_count,
      predictionCount: result.prediction_count,
      duration: result.duration,
      fileUploadIds: result.file_upload_ids,
      couldBeTasksList: result.could_be_tasks_list,
      foundFormats: result.found_formats,
      dataColumns: result.data_columns,
      taskIds: result.task_ids ?? [],
      updatedAt: sql`now()`,
      finishedAt: sql`now()`,
    })
    .where(eq(projectImports.id, id));
}

/** A replay's own record: the first request's record answers for it. */
export async function deleteImportRecord(db: Db, id: number): Promise<void> {
  await db.delete(projectImports).where(eq(projectImports.id, id));
}

/**
 * What a failed import tells its record: the client's messages, that the server had no room for
 * its files, or that the server failed.
 */
function reasonOf(error: unknown): string {
  if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") {
    const cause = error.cause as { issues?: { message: string }[] } | undefined;
    const messages = cause?.issues?.map((issue) => issue.message) ?? [];
    return messages.length > 0 ? messages.join("\n") : error.message;
  }
  return storageFull(error) ? STORAGE_FULL : "Internal server error";
}

export async function failImportRecord(db: Db, id: number, error: unknown): Promise<void> {
  await db
    .update(projectImports)
    .set({
      status: "failed",
      error: reasonOf(error),
      updatedAt: sql`now()`,
      finishedAt: sql`now()`,
    })
    .where(eq(projectImports.id, id));
}

/** An import of the project `projectId` in the caller's organization, else 404. */
export async function getImportRecord(
  db: Db,
  actor: Actor,
  projectId: number,
  id: number,
): Promise<ProjectImport> {
  const [row] = await db
    .select({ record: projectImports })
    .from(projectImports)
    .innerJoin(projects, eq(projects.id, projectImports.projectId))
    .where(
      and(
        eq(projectImports.id, id),
        eq(projectImports.projectId, projectId),
        eq(projects.organizationId, actor.organizationId),
      ),
    );
  if (!row) throw notFound(IMPORT_NOT_FOUND);
  const r = row.record;
  return {
    id: r.id,
    project: r.projectId,
    preannotated_from_fields: r.preannotatedFromFields ?? null,
    commit_to_project: r.commitToProject,
    return_task_ids: r.returnTaskIds,
    status: r.status,
    url: r.url,
    traceback: r.traceback,
    error: r.error,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    finished_at: r.finishedAt,
    task_count: r.taskCount,
    annotation_count: r.annotationCount,
    prediction_count: r.predictionCount,
    duration: Math.trunc(r.duration),
    file_upload_ids: r.fileUploadIds,
    could_be_tasks_list: r.couldBeTasksList,
    found_formats: r.foundFormats,
    data_columns: r.dataColumns,
    tasks: null,
    task_ids: r.taskIds,
  };
}
