/**
 * Label Studio's task lists: the Data Manager list behind `GET /api/tasks/` (selected tasks, an
 * order, totals, and the `fields` / `include` / `omit` options that shape each task) and the
 * older per-project list (`GET /api/projects/{id}/tasks/`, listProjectTasks). Each task has the detail shape of
 * `GET /api/tasks/{id}/`, serialized by services/task-detail.ts.
 */

import type { TaskDetail } from "@taskport/schema";
import { and, asc, count, desc, eq, inArray, notInArray, type SQL, sql, sum } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { tasks } from "../db/schema";
import { notFound } from "../errors";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { taskDetails } from "./task-detail";

/** DRF's Http404. */
export const PAGE_NOT_FOUND = "Not found.";

/** Which tasks of the project: all but some, or only some (Label Studio's `selectedItems`). */
export type SelectedItems =
  | { all: true; excluded?: number[] }
  | { all: false; included?: number[] };

/** The task fields a list may be ordered by (`ordering: ["-tasks:inner_id"]`). */
export const TASK_ORDERING_FIELDS = {
  id: tasks.id,
  inner_id: tasks.innerId,
  created_at: tasks.createdAt,
  updated_at: tasks.updatedAt,
  is_labeled: tasks.isLabeled,
  overlap: tasks.overlap,
  total_annotations: tasks.totalAnnotations,
  cancelled_annotations: tasks.cancelledAnnotations,
  total_predictions: tasks.totalPredictions,
} as const;

export interface TaskOrdering {
  /** A task field, or `data.<key>` for a key of the task's data. */
  field: keyof typeof TASK_ORDERING_FIELDS | `data.${string}`;
  descending: boolean;
}

export interface TaskListQuery {
  project: number;
  page: number;
  page_size: number;
  /** `all`: each task with its annotations and predictions (and drafts). */
  fields: "all" | "task_only";
  /** Only these fields of each task (dotted names reach into annotations and predictions). */
  include?: string[];
  /** Every field but these. */
  omit?: string[];
  selected?: SelectedItems;
  ordering?: TaskOrdering;
}

export interface TaskListPage {
  total_annotations: number;
  total_predictions: number;
  total: number;
  tasks: Record<string, unknown>[];
}

// drf-flex-fields' wildcards: every field.
const WILDCARDS = new Set(["*", "~all"]);

/** Splits `a,b.c` into this level's names and the next level's, per field. */
function levels(names: string[]): { here: Set<string>; next: Map<string, string[]> } {
  const here = new Set<string>();
  const next = new Map<string, string[]>();
  for (const name of names) {
    const [head = "", ...rest] = name.split(".");
    here.add(head);
    if (rest.length) next.set(head, [...(next.get(head) ?? []), rest.join(".")]);
  }
  return { here, next };
}

/**
 * An object cut to `include` and without `omit`, as drf-flex-fields does (Label Studio names
 * its `fields` parameter `include`): unknown names select nothing, a wildcard keeps all.
 */
export function sparse(
  value: Record<string, unknown>,
  include: string[] = [],
  omit: string[] = [],
): Record<string, unknown> {
  const wanted = levels(include);
  const dropped = levels(omit);
  const keepAll = include.length === 0 || [...wanted.here].some((name) => WILDCARDS.has(name));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (dropped.here.has(key) && !dropped.next.has(key)) continue;
    if (!keepAll && !wanted.here.has(key)) continue;
    const inner = wanted.next.get(key) ?? [];
    const innerOmit = dropped.next.get(key) ?? [];
    const nested = (item: unknown) =>
      item !== null && typeof item === "object" && !Array.isArray(item)
        ? sparse(item as Record<string, unknown>, inner, innerOmit)
        : item;
    out[key] =
      inner.length || innerOmit.length
        ? Array.isArray(field)
          ? field.map(nested)
          : nested(field)
        : field;
  }
  return out;
}

function selection(selected: SelectedItems | undefined): SQL | undefined {
  if (!selected) return undefined;
  if (selected.all) {
    return selected.excluded?.length ? notInArray(tasks.id, selected.excluded) : undefined;
  }
  return inArray(tasks.id, selected.included?.length ? selected.included : [0]);
}

function orderBy(ordering: TaskOrdering | undefined): SQL[] {
  if (!ordering) return [asc(tasks.id)];
  const direction = ordering.descending ? desc : asc;
  if (ordering.field.startsWith("data.")) {
    const key = ordering.field.slice("data.".length);
    const expression = sql`${tasks.data} ->> ${key}`;
    return [
      ordering.descending ? sql`${expression} desc nulls last` : sql`${expression} asc nulls last`,
      asc(tasks.id),
    ];
  }
  const column = TASK_ORDERING_FIELDS[ordering.field as keyof typeof TASK_ORDERING_FIELDS];
  return [direction(column), asc(tasks.id)];
}

type TaskRow = typeof tasks.$inferSelect;

/**
 * Tasks in the list's shape: the task detail's serializer, without annotations and
 * predictions unless `fields=all` asks for them (Label Studio drops both keys then).
 */
async function serialize(
  db: Db,
  rows: TaskRow[],
  withLists: boolean,
): Promise<Record<string, unknown>[]> {
  const details = await taskDetails(db, rows, { expandAnnotators: false });
  return details.map((detail) => {
    if (withLists) return detail;
    const { annotations: _annotations, predictions: _predictions, ...rest } = detail;
    return rest;
  });
}

/** The Data Manager's task list of a project (Label Studio's `GET /api/tasks/?project=`). */
export async function listTaskPage(
  db: Db,
  actor: Actor,
  query: TaskListQuery,
): Promise<TaskListPage> {
  const project = await findProject(db, actor, query.project);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const where = and(eq(tasks.projectId, project.id), selection(query.selected));
  const [totals] = await db
    .select({
      total: count(),
      annotations: sum(tasks.totalAnnotations).mapWith(Number),
      predictions: sum(tasks.totalPredictions).mapWith(Number),
    })
    .from(tasks)
    .where(where);
  const total = totals?.total ?? 0;
  // DRF's PageNumberPagination: page 1 always exists, a later page past the end is a 404.
  if (query.page > 1 && (query.page - 1) * query.page_size >= total) {
    throw notFound("Invalid page.");
  }
  const rows = await db
    .select()
    .from(tasks)
    .where(where)
    .orderBy(...orderBy(query.ordering))
    .limit(query.page_size)
    .offset((query.page - 1) * query.page_size);
  const withLists = query.fields === "all";
  const shaped = (await serialize(db, rows, withLists)).map((task) =>
    sparse(task, query.include, query.omit),
  );
  return {
    total_annotations: totals?.annotations ?? 0,
    total_predictions: totals?.predictions ?? 0,
    total,
    tasks: shaped,
  };
}

/**
 * The older per-project list (Label Studio's `GET /api/projects/{id}/tasks/`): a plain list of
 * tasks in the detail shape, most recently updated first; a page with no task (past the end,
 * or an empty project) is the 404 "Not found.", as Label Studio answers it.
 */
export async function listProjectTasks(
  db: Db,
  actor: Actor,
  projectId: number,
  page: number,
  pageSize: number,
): Promise<TaskDetail[]> {
  const project = await findProject(db, actor, projectId);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const rows = await db
    .select()
    .from(tasks)
    .where(eq(tasks.projectId, project.id))
    .orderBy(desc(tasks.updatedAt), desc(tasks.id))
    .limit(pageSize)
    .offset((page - 1) * pageSize);
  if (rows.length === 0) throw notFound(PAGE_NOT_FOUND);
  return taskDetails(db, rows, { expandAnnotators: false });
}
