/**
 * Predictions, always within the caller's organization, in Label Studio's shape. One write
 * function per operation (create, import, update, delete); each writes the predictions, their
 * tasks' `total_predictions` and its webhook event in one transaction (see ./task-counters.ts).
 */
import {
  createdAgo,
  type Prediction,
  type PredictionFields,
  type PredictionImportResult,
  type PredictionListInput,
  resultErrors,
  scoreError,
} from "@taskport/schema";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { predictions, projects, tasks } from "../db/schema";
import { transactionDb } from "../db/transaction";
import { type InputIssue, issuesError, notFound } from "../errors";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { resultRulesFor, toTask } from "./task";
import { lockTasks, refreshTaskCounters } from "./task-counters";
import { batches, emitWebhookEvent } from "./webhook-events";

type PredictionRow = typeof predictions.$inferSelect;

export const PREDICTION_NOT_FOUND = "No Prediction matches the given query.";
const FIELD_REQUIRED = "This field is required.";
const invalidPk = (value: unknown) => `Invalid pk "${String(value)}" - object does not exist.`;

/**
 * PREDICTIONS_CREATED (a create, or an import in batches) and PREDICTION_UPDATED, in the
 * writing transaction after the task counters are refreshed, shaped as the annotation events
 * are: `{predictions: [...], project}` and `{prediction, task, project}`.
 */
async function emitPredictionsWritten(
  tx: Db,
  action: "PREDICTIONS_CREATED" | "PREDICTION_UPDATED",
  projectId: number,
  rows: PredictionRow[],
): Promise<void> {
  await emitWebhookEvent(tx, { projectId }, action, async (t) => {
    if (action === "PREDICTIONS_CREATED")
      return batches(rows).map((batch) => ({
        predictions: batch.map(toPrediction),
        project: { id: projectId },
      }));
    const taskIds = [...new Set(rows.map((row) => row.taskId))];
    const taskRows = await t.select().from(tasks).where(inArray(tasks.id, taskIds));
    const taskById = new Map(taskRows.map((row) => [row.id, toTask(row)]));
    return rows.map((row) => ({
      prediction: toPrediction(row),
      task: taskById.get(row.taskId),
      project: { id: projectId },
    }));
  });
}

/** A prediction row as Label Studio's PredictionSerializer writes it. */
export function toPrediction(row: PredictionRow): Prediction {
  return {
    id: row.id,
    result: row.result as Prediction["result"],
    model_version: row.modelVersion,
    created_ago: createdAgo(row.createdAt),
    score: row.score,
    cluster: row.cluster,
    neighbors: row.neighbors,
    mislabeling: row.mislabeling,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    model: null,
    model_run: null,
    task: row.taskId,
    project: row.projectId,
  };
}

async function findPredictionRow(db: Db, actor: Actor, id: number) {
  const [found] = await db
    .select({ row: predictions })
    .from(predictions)
    .innerJoin(projects, eq(projects.id, predictions.projectId))
    .where(and(eq(predictions.id, id), eq(projects.organizationId, actor.organizationId)));
  if (!found) throw notFound(PREDICTION_NOT_FOUND);
  return found.row;
}

/** The problems of a prediction's fields against its project's label config. */
function fieldIssues(
  labelConfig: string,
  fields: PredictionFields,
  creating: boolean,
  prefix = "",
): InputIssue[] {
  const issues: InputIssue[] = [];
  const at = (field: string) => (prefix ? `${prefix}${field}` : field);
  if (fields.result === undefined) {
    if (creating) issues.push({ field: at("result"), message: FIELD_REQUIRED });
  } else {
    for (const message of resultErrors(resultRulesFor(labelConfig), fields.result)) {
      issues.push({ field: at("result"), message });
    }
  }
  const score = scoreError(fields.score);
  if (score) issues.push({ field: at("score"), message: score });
  return issues;
}

function columnsOf(fields: PredictionFields) {
  return {
    result: fields.result as unknown[] | undefined,
    score: fields.score as number | null | undefined,
    modelVersion: fields.model_version ?? undefined,
    cluster: fields.cluster,
    neighbors: fields.neighbors,
    mislabeling: fields.mislabeling,
  };
}

/** `GET /api/predictions/`: the organization's predictions, of a task or a project, by id. */
export async function listPredictions(
  db: Db,
  actor: Actor,
  input: PredictionListInput,
): Promise<Prediction[]> {
  const rows = await db
    .select({ row: predictions })
    .from(predictions)
    .innerJoin(projects, eq(projects.id, predictions.projectId))
    .where(
      and(
        eq(projects.organizationId, actor.organizationId),
        input.task === undefined ? undefined : eq(predictions.taskId, input.task),
        input.project === undefined ? undefined : eq(predictions.projectId, input.project),
      ),
    )
    .orderBy(asc(predictions.id));
  return rows.map(({ row }) => toPrediction(row));
}

export async function getPrediction(db: Db, actor: Actor, id: number): Promise<Prediction> {
  return toPrediction(await findPredictionRow(db, actor, id));
}

/** Creates a prediction on a task of the caller's organization (`task` in the body). */
export async function createPrediction(
  db: Db,
  actor: Actor,
  input: PredictionFields,
): Promise<Prediction> {
  if (input.task === undefined) throw issuesError([{ field: "task", message: FIELD_REQUIRED }]);
  const taskId = input.task;
  const row = await db.transaction(async (raw) => {
    const tx = transactionDb(raw, db);
    const [task] = await lockTasks(tx, actor.organizationId, [taskId]);
    const issues = task
      ? fieldIssues(task.labelConfig, input, true)
      : [{ field: "task", message: invalidPk(taskId) }];
    if (!task || issues.length > 0) throw issuesError(issues);
    const [created] = await tx
      .insert(predictions)
      .values({
        ...columnsOf(input),
        result: input.result as unknown[],
        taskId: task.id,
        projectId: task.projectId,
      })
      .returning();
    if (!created) throw new Error("prediction insert returned no row");
    await refreshTaskCounters(tx, [task.id], actor.userId);
    await emitPredictionsWritten(tx, "PREDICTIONS_CREATED", task.projectId, [created]);
    return created;
  });
  return toPrediction(row);
}

/**
 * `POST /api/projects/{id}/import/predictions`: predictions for tasks of that project, all or
 * nothing; each problem is named by its item (`0.result`, `3.task`).
 */
export async function importPredictions(
  db: Db,
  actor: Actor,
  projectId: number,
  items: PredictionFields[],
): Promise<PredictionImportResult> {
  const project = await findProject(db, actor, projectId);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  if (items.length === 0) return { created: 0 };
  const taskIds = [...new Set(items.map((item) => item.task).filter((id) => id !== undefined))];
  return db.transaction(async (raw) => {
    const tx = transactionDb(raw, db);
    const locked = await lockTasks(tx, actor.organizationId, taskIds);
    const inProject = new Set(
      locked.filter((task) => task.projectId === project.id).map((task) => task.id),
    );
    const issues: InputIssue[] = [];
    items.forEach((item, i) => {
      if (item.task === undefined) issues.push({ field: `${i}.task`, message: FIELD_REQUIRED });
      else if (!inProject.has(item.task))
        issues.push({ field: `${i}.task`, message: invalidPk(item.task) });
      issues.push(...fieldIssues(project.labelConfig, item, true, `${i}.`));
    });
    if (issues.length > 0) throw issuesError(issues);
    const created = await tx
      .insert(predictions)
      .values(
        items.map((item) => ({
          ...columnsOf(item),
          result: item.result as unknown[],
          taskId: item.task as number,
          projectId: project.id,
        })),
      )
      .returning();
    await refreshTaskCounters(tx, [...inProject], actor.userId);
    await emitPredictionsWritten(tx, "PREDICTIONS_CREATED", project.id, created);
    return { created: items.length };
  });
}

export async function updatePrediction(
  db: Db,
  actor: Actor,
  input: PredictionFields & { id: number },
): Promise<Prediction> {
  const current = await findPredictionRow(db, actor, input.id);
  const row = await db.transaction(async (raw) => {
    const tx = transactionDb(raw, db);
    const [task] = await lockTasks(tx, actor.organizationId, [current.taskId]);
    if (!task) throw notFound(PREDICTION_NOT_FOUND);
    const issues = fieldIssues(task.labelConfig, input, false);
    if (issues.length > 0) throw issuesError(issues);
    const [updated] = await tx
      .update(predictions)
      .set({ ...columnsOf(input), updatedAt: new Date() })
      .where(eq(predictions.id, current.id))
      .returning();
    if (!updated) throw notFound(PREDICTION_NOT_FOUND);
    await refreshTaskCounters(tx, [task.id], actor.userId);
    await emitPredictionsWritten(tx, "PREDICTION_UPDATED", task.projectId, [updated]);
    return updated;
  });
  return toPrediction(row);
}

export async function deletePrediction(db: Db, actor: Actor, id: number): Promise<void> {
  const current = await findPredictionRow(db, actor, id);
  await db.transaction(async (raw) => {
    const tx = transactionDb(raw, db);
    const [task] = await lockTasks(tx, actor.organizationId, [current.taskId]);
    if (!task) throw notFound(PREDICTION_NOT_FOUND);
    const deleted = await tx
      .delete(predictions)
      .where(eq(predictions.id, current.id))
      .returning({ id: predictions.id });
    if (deleted.length === 0) throw notFound(PREDICTION_NOT_FOUND);
    await refreshTaskCounters(tx, [task.id], actor.userId);
    await emitWebhookEvent(tx, { projectId: task.projectId }, "PREDICTIONS_DELETED", () => [
      { predictions: [{ id: current.id }], project: { id: task.projectId } },
    ]);
  });
}
