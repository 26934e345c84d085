/**
 * The query of Label Studio's Data Manager task list (`GET /api/tasks/`), read as it reads it:
 * `project` (or a `view`, which Taskport does not have), `fields`, `include` / `omit`, `page` /
 * `page_size`, `query` (JSON: `selectedItems`, `ordering`, `filters`), `selectedItems` and
 * `ids`. Label Studio's 404s (no project, no view) are issues with status 404.
 */
import { MAX_INT_ID } from "@taskport/schema";
import { z } from "zod";
import { PROJECT_NOT_FOUND } from "../services/project";
import {
  type SelectedItems,
  TASK_ORDERING_FIELDS,
  type TaskListQuery,
  type TaskOrdering,
} from "../services/task-list";
import { described, INVALID_PAGE, notFoundIssue, queryValue, restSchemas } from "./schemas";

/** Label Studio's page of tasks: 100 by default. Larger requests get pages of at most 1,000. */
export const TASK_PAGE_SIZES = { size: 100, max: 1000 };

type Ctx = z.core.$RefinementCtx<unknown>;

class Refused extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const SELECTED_ITEMS_FORMAT =
  'selectedItems must be dict: {"all": [true|false], "excluded | included": [...task_ids...]}.';
const QUERY_FORMAT =
  'query must be a JSON object: {"selectedItems": ..., "ordering": ..., "filters": ...}.';

function isIdList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((id) => Number.isSafeInteger(id));
}

function selectedItems(raw: unknown): SelectedItems | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  let value = raw;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      throw new Refused("selectedItems", `${SELECTED_ITEMS_FORMAT} Found: ${raw}`);
    }
  }
  const items = value as { all?: unknown; included?: unknown; excluded?: unknown };
  if (items === null || typeof items !== "object" || typeof items.all !== "boolean") {
    throw new Refused("selectedItems", SELECTED_ITEMS_FORMAT);
  }
  const empty = (list: unknown) => list === undefined || (Array.isArray(list) && !list.length);
  if (items.all) {
    if (!empty(items.included)) {
      throw new Refused("selectedItems", "included not allowed with all==true");
    }
    if (items.excluded !== undefined && !isIdList(items.excluded)) {
      throw new Refused("selectedItems", "excluded must be a list of task ids");
    }
    return { all: true, excluded: items.excluded as number[] | undefined };
  }
  if (!empty(items.excluded)) {
    throw new Refused("selectedItems", "excluded not allowed with all==false");
  }
  if (items.included !== undefined && !isIdList(items.included)) {
    throw new Refused("selectedItems", "included must be a list of task ids");
  }
  return { all: false, included: items.included as number[] | undefined };
}

/** `["-tasks:inner_id"]`: Label Studio orders by the first field only. */
function ordering(raw: unknown): TaskOrdering | undefined {
  if (raw === undefined || raw === null) return undefined;
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return undefined;
  if (typeof first !== "string") {
    throw new Refused("ordering", "ordering must be a list of field names.");
  }
  let name = first.trim();
  let descending = false;
  if (name.startsWith("-")) {
    descending = true;
    name = name.slice(1);
  }
  for (const prefix of ["filter:", "tasks:"]) {
    if (name.startsWith(prefix)) name = name.slice(prefix.length);
  }
  if (!descending && name.startsWith("-")) {
    descending = true;
    name = name.slice(1);
  }
  if ((name.startsWith("data.") && name.length > "data.".length) || name in TASK_ORDERING_FIELDS) {
    return { field: name as TaskOrdering["field"], descending };
  }
  throw new Refused(
    "ordering",
    `Cannot order tasks by "${first}": use one of ${Object.keys(TASK_ORDERING_FIELDS).join(", ")} or data.<key>, with "tasks:" and "-" as Label Studio writes them.`,
  );
}

function list(raw: string | undefined): string[] | undefined {
  const values = (raw ?? "")
    .split(",")
    .map((value) => value.trim())
    .filter(Boolean);
  return values.length ? values : undefined;
}

/** An integer as Label Studio's `int_from_request` reads one (absent: 0). */
function intOf(raw: string | undefined, name: string): number {
  if (raw === undefined || raw === "") return 0;
  if (!/^-?\d+$/.test(raw)) {
    throw new Refused(
      name,
      `Incorrect value in key "${name}" = "${raw}". It should be digit string.`,
    );
  }
  return Number(raw);
}

function read(values: Record<string, string | undefined>, ctx: Ctx): TaskListQuery | undefined {
  const project = intOf(values.project, "project");
  const view = intOf(values.view, "view");
  if (!project) {
    notFoundIssue(
      ctx,
      view ? "No View matches the given query." : "Neither project nor view id specified",
    );
    return undefined;
  }
  if (project < 1 || project > MAX_INT_ID) {
    notFoundIssue(ctx, PROJECT_NOT_FOUND);
    return undefined;
  }
  const rawPage = values.page;
  const page = rawPage === undefined || rawPage === "" ? 1 : Number(rawPage);
  if (!/^\d*$/.test(rawPage ?? "") || page < 1 || !Number.isSafeInteger(page)) {
    notFoundIssue(ctx, INVALID_PAGE);
    return undefined;
  }
  const size = values.page_size && /^\d+$/.test(values.page_size) ? Number(values.page_size) : 0;
  let query: Record<string, unknown> = {};
  if (values.query) {
    try {
      query = JSON.parse(values.query);
    } catch {
      throw new Refused("query", QUERY_FORMAT);
    }
    if (query === null || typeof query !== "object" || Array.isArray(query)) {
      throw new Refused("query", QUERY_FORMAT);
    }
  }
  const filters = query.filters as { items?: unknown[] } | undefined;
  if (filters && Array.isArray(filters.items) && filters.items.length > 0) {
    throw new Refused(
      "query",
      "Taskport does not apply Data Manager filters: select tasks with selectedItems or ids instead.",
    );
  }
  let selected = selectedItems(query.selectedItems) ?? selectedItems(values.selectedItems);
  const ids = list(values.ids);
  if (ids)
    selected = { all: false, included: ids.map((id) => (/^\d+$/.test(id) ? Number(id) : 0)) };
  return {
    project,
    page,
    page_size: size > 0 ? Math.min(size, TASK_PAGE_SIZES.max) : TASK_PAGE_SIZES.size,
    fields: values.fields === "all" ? "all" : "task_only",
    include: list(values.include),
    omit: list(values.omit),
    selected,
    ordering: ordering(query.ordering),
  };
}

const param = (description: string) => described(queryValue.optional(), description);

/** `GET /api/tasks/`'s query, documented parameter by parameter. */
export const TaskListQueryIn = z
  .object({
    project: param("The project's id."),
    view: param("A Data Manager view's id (Taskport has none: 404)."),
    page: param("Page number, from 1; past the last page: 404."),
    page_size: param(
      `Tasks per page (default ${TASK_PAGE_SIZES.size}, at most ${TASK_PAGE_SIZES.max}; larger values are capped).`,
    ),
    fields: param("all: each task with its annotations, predictions and drafts."),
    include: param("Only these fields of each task, comma-separated (a.b reaches into lists)."),
    omit: param("Every field but these, comma-separated."),
    query: param('JSON: {"selectedItems": ..., "ordering": ["-tasks:inner_id"]}.'),
    selectedItems: param(
      'JSON: {"all": false, "included": [ids]} or {"all": true, "excluded": [ids]}.',
    ),
    ids: param("Only these task ids, comma-separated."),
  })
  .transform((values, ctx) => {
    try {
      return read(values, ctx) ?? z.NEVER;
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      ctx.issues.push({
        code: "custom",
        message: error.message,
        input: values,
        path: [error.field],
      });
      return z.NEVER;
    }
  });

/** The Data Manager's page: the totals first, as Label Studio writes them, then the tasks. */
export const TaskPageOut = z.object({
  total_annotations: z.number().int(),
  total_predictions: z.number().int(),
  total: z.number().int(),
  tasks: z.array(z.record(z.string(), z.unknown())),
});
restSchemas.add(TaskPageOut, { id: "TaskPage" });
