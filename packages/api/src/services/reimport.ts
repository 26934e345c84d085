/**
 * Re-import (Label Studio's ReImportAPI): the tasks of uploads already kept are read again
 * from their files, replacing the tasks those uploads made, in one transaction. A file that
 * now holds no rows leaves its upload with no tasks: 201 and zeros, as Label Studio answers.
 */
import { stat } from "node:fs/promises";
import type { ImportResult } from "@taskport/schema";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { fileUploads } from "../db/schema";
import { notFound, validationError } from "../errors";
import { type ImportSource, importTasks } from "./import";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { objectTagsOf } from "./task";
import { diskPath, storedSource, type UploadSettings, variableCount } from "./uploads";

export interface ReimportInput {
  project: number;
  fileUploadIds: number[];
  filesAsTasksList: boolean;
}

export type ReimportResult = Omit<
  ImportResult,
  "could_be_tasks_list" | "task_ids" | "import" | "found_formats"
> & {
  /** How many of the files read have each extension: `{".csv": 2}` (Label Studio's Counter). */
  found_formats: Record<string, number>;
};

/** Label Studio's `dict(Counter(formats))`: each extension once, in order of first reading. */
function countFormats(formats: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const format of formats) counts[format] = (counts[format] ?? 0) + 1;
  return counts;
}

/** Label Studio's answer when nothing is read: zeros, and the ids as sent. */
export function reimportZeros(fileUploadIds: number[], duration = 0): ReimportResult {
  return {
    task_count: 0,
    annotation_count: 0,
    prediction_count: 0,
    duration,
    file_upload_ids: fileUploadIds,
    found_formats: {},
    data_columns: [],
  };
}

export async function reimportUploads(
  db: Db,
  settings: UploadSettings,
  actor: Actor,
  input: ReimportInput,
): Promise<ReimportResult> {
  const started = performance.now();
  const project = await findProject(db, actor, input.project);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const rows = await db
    .select({ id: fileUploads.id, file: fileUploads.file, fileName: fileUploads.fileName })
    .from(fileUploads)
    .where(and(eq(fileUploads.projectId, project.id), inArray(fileUploads.id, input.fileUploadIds)))
    .orderBy(asc(fileUploads.id));
  if (rows.length === 0) {
    // Ids that name no upload of the project: Label Studio reads no file, replaces nothing and
    // answers its zeros (201), the ids as sent.
    return reimportZeros(input.fileUploadIds, (performance.now() - started) / 1000);
  }
  const variables = variableCount(objectTagsOf(project.labelConfig));
  const sources: ImportSource[] = [];
  for (const row of rows) {
    const kept = row.file ? await stat(diskPath(settings, row.file)).catch(() => null) : null;
    if (!row.file || !kept?.isFile()) {
      throw validationError({
        file_upload_ids: [`The file of upload ${row.id} is no longer kept: upload it again.`],
      });
    }
    const source = storedSource(settings, row.file, variables, input.filesAsTasksList);
    sources.push({
      items: source.items,
      file: {
        name: row.fileName,
        format: source.format ?? "json",
        extension: source.extension,
        stored: row.file,
        uploadId: row.id,
      },
    });
  }
  const result = await importTasks(db, actor, {
    project: project.id,
    sources,
    replaceTasksOf: rows.map((row) => row.id),
    allowEmpty: true,
  });
  return {
    task_count: result.task_count,
    annotation_count: result.annotation_count,
    prediction_count: result.prediction_count,
    duration: result.duration,
    file_upload_ids: input.fileUploadIds,
    found_formats: countFormats(result.found_formats),
    data_columns: result.data_columns,
  };
}
