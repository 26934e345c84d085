/**
 * Tasks in Label Studio's Data Manager shape (`toTaskDetail` of @taskport/schema), read for a
 * page of tasks at once: the task detail and every task list serialize through here. Each page
 * costs a fixed number of queries whatever its size (annotations, predictions, uploads, storage
 * links), never one per task.
 */
import { annotatorOf, type Task, type TaskDetail, toTaskDetail } from "@taskport/schema";
import { asc, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/client";
import { annotations, fileUploads, predictions, projects, storageLinks, tasks } from "../db/schema";
import { selectAnnotations, toAnnotation } from "./annotation";
import { toPrediction } from "./prediction";
import { resolveStorageUrls } from "./storage-urls";
import { toTask } from "./task";

type TaskRow = typeof tasks.$inferSelect;

export interface DetailOptions {
  /** The detail expands each annotation's `completed_by` to its user, as Label Studio's does. */
  expandAnnotators: boolean;
  /** Storage URIs as stored (Label Studio's export), not Taskport's URLs for them. */
  keepStorageUris?: boolean;
}

function group<T>(rows: T[], key: (row: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

/** The tasks, in the order given, each with its annotations, predictions and computed fields. */
export async function taskDetails(
  db: Db,
  rows: TaskRow[],
  options: DetailOptions,
): Promise<TaskDetail[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const projectIds = [...new Set(rows.map((row) => row.projectId))];
  const uploadIds = [
    ...new Set(rows.map((row) => row.fileUploadId).filter((id): id is number => id !== null)),
  ];
  const [annotationRows, predictionRows, uploads, links, versions] = await Promise.all([
    selectAnnotations(db)
      .where(inArray(annotations.taskId, ids))
      .orderBy(asc(annotations.taskId), asc(annotations.id)),
    db
      .select()
      .from(predictions)
      .where(inArray(predictions.taskId, ids))
      .orderBy(asc(predictions.taskId), asc(predictions.id)),
    uploadIds.length === 0
      ? []
      : db
          .select({ id: fileUploads.id, name: fileUploads.fileName })
          .from(fileUploads)
          .where(inArray(fileUploads.id, uploadIds)),
    db
      .select({ taskId: storageLinks.taskId, key: storageLinks.key })
      .from(storageLinks)
      .where(inArray(storageLinks.taskId, ids)),
    db
      .select({ id: projects.id, modelVersion: projects.modelVersion })
      .from(projects)
      .where(inArray(projects.id, projectIds)),
  ]);
  const annotationsOf = group(annotationRows, ({ row }) => row.taskId);
  const predictionsOf = group(predictionRows, (row) => row.taskId);
  const uploadName = new Map(uploads.map((u) => [u.id, u.name.split(/[\\/]/).pop() ?? u.name]));
  const linkOf = new Map(links.map((link) => [link.taskId, link.key]));
  const versionOf = new Map(versions.map((p) => [p.id, p.modelVersion ?? ""]));
  const rowOf = new Map(rows.map((row) => [row.id, row]));
  const resolved: Task[] = options.keepStorageUris
    ? rows.map(toTask)
    : await resolveStorageUrls(db, rows.map(toTask));
  return resolved.map((task) => {
    const row = rowOf.get(task.id) as TaskRow;
    const own = annotationsOf.get(task.id) ?? [];
    return toTaskDetail(task, {
      annotations: options.expandAnnotators
        ? own.map(({ row: a, email }) => ({
            ...toAnnotation(a, email),
            completed_by:
              a.completedBy === null || email === null
                ? null
                : annotatorOf({ id: a.completedBy, email }),
          }))
        : own.map(({ row: a, email }) => toAnnotation(a, email)),
      predictions: (predictionsOf.get(task.id) ?? []).map(toPrediction),
      modelVersion: versionOf.get(task.project) ?? "",
      fileUploadName: row.fileUploadId === null ? null : (uploadName.get(row.fileUploadId) ?? null),
      storageFilename: linkOf.get(task.id) ?? null,
    });
  });
}

/** One task's detail, by id (its row already found within the caller's organization). */
export async function taskDetailOf(db: Db, id: number): Promise<TaskDetail | undefined> {
  const rows = await db.select().from(tasks).where(eq(tasks.id, id));
  const [detail] = await taskDetails(db, rows, { expandAnnotators: true });
  return detail;
}
