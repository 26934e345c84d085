/**
 * /api/tasks/: Label Studio's task endpoints over services/task.ts (contract sections 1 and 4).
 * The service owns every rule; these entries only say what each endpoint reads and answers.
 */
import { z } from "zod";
import { PROJECT_NOT_FOUND } from "../services/project";
import {
  createTask,
  deleteProjectTasks,
  deleteTask,
  getTask,
  TASK_NOT_FOUND,
  updateTask,
} from "../services/task";
import { listProjectTasks, listTaskPage } from "../services/task-list";
import type { FormFieldTypes } from "./body";
import { route } from "./route";
import {
  described,
  IdempotencyHeaders,
  INVALID_PAGE,
  notFoundIssue,
  pathId,
  queryValue,
  TaskCreateBody,
  TaskDetailOut,
  TaskOut,
  TaskUpdateBody,
} from "./schemas";
import { TASK_PAGE_SIZES, TaskListQueryIn, TaskPageOut } from "./task-list";

export const TASK_FORM_FIELDS: FormFieldTypes = {
  json: ["data", "meta"],
  integer: ["project", "overlap"],
};

const TaskPath = z.object({ id: pathId("task", TASK_NOT_FOUND, Number.MAX_SAFE_INTEGER) });

/** Label Studio's `paginator`: 50 tasks by default; -1 (all) and larger sizes are capped. */
const PROJECT_TASKS_PAGE_SIZE = 50;
const ProjectTasksQuery = z.looseObject({
  /**
   * Label Studio reads this list's page with its `int_from_request`, not DRF's paginator: what
   * Python's int() refuses is a 400 on `page` in its words. A page below 1 (a server error
   * there) is the 404 of a page that does not exist.
   */
  page: described(
    queryValue.optional().transform((raw, ctx) => {
      if (raw === undefined) return 1;
      if (!/^[+-]?\d+(?:_\d+)*$/.test(raw)) {
        ctx.issues.push({
          code: "custom",
          message: `Incorrect value in key "page" = "${raw}". It should be digit string.`,
          input: raw,
        });
        return z.NEVER;
      }
      const page = Number(raw.replaceAll("_", ""));
      if (page < 1 || !Number.isSafeInteger(page)) {
        notFoundIssue(ctx, INVALID_PAGE);
        return z.NEVER;
      }
      return page;
    }),
    "Page number, from 1 (digits; anything else: 400); past the last page: 404.",
  ),
  page_size: queryValue.optional().transform((raw) => {
    if (raw === "-1") return TASK_PAGE_SIZES.max;
    const size = raw && /^\d+$/.test(raw) ? Number(raw) : 0;
    return size > 0 ? Math.min(size, TASK_PAGE_SIZES.max) : PROJECT_TASKS_PAGE_SIZE;
  }),
});

export const taskRoutes = [
  route({
    method: "POST",
    path: "/api/tasks/",
    summary: "Create a task",
    tag: "Tasks",
    headers: IdempotencyHeaders,
    // Checked by the service in Label Studio's order: the project is looked up first.
    acceptedBody: TaskCreateBody,
    forms: TASK_FORM_FIELDS,
    success: { status: 201, description: "The created task.", schema: TaskOut },
    errors: [400, 401, 404, 413, 415, 422],
    handler: ({ db, actor, headers, body }) =>
      createTask(db, actor, body, headers["idempotency-key"]),
  }),
  route({
    method: "GET",
    path: "/api/tasks/",
    summary: "List a project's tasks (Label Studio's Data Manager list)",
    tag: "Tasks",
    query: TaskListQueryIn,
    success: {
      status: 200,
      description: "The totals, then a page of tasks (by id unless ordered).",
      schema: TaskPageOut,
    },
    errors: [400, 401, 404],
    handler: ({ db, actor, query }) => listTaskPage(db, actor, query),
  }),
  route({
    method: "GET",
    path: "/api/projects/{id}/tasks/",
    summary: "List a project's tasks (Label Studio's older per-project list)",
    tag: "Projects",
    params: z.object({ id: pathId("project", PROJECT_NOT_FOUND) }),
    query: ProjectTasksQuery,
    success: {
      status: 200,
      description:
        "A page of tasks with their annotations and predictions, most recently updated first; a page with no task: 404.",
      schema: z.array(TaskDetailOut),
    },
    errors: [400, 401, 404],
    handler: ({ db, actor, params, query }) =>
      listProjectTasks(db, actor, params.id, query.page, query.page_size),
  }),
  route({
    method: "DELETE",
    path: "/api/projects/{id}/tasks/",
    summary: "Delete all of a project's tasks",
    tag: "Projects",
    params: z.object({ id: pathId("project", PROJECT_NOT_FOUND) }),
    success: {
      status: 204,
      description:
        "Deleted, with their annotations and predictions; the project's next task is inner_id 1.",
    },
    errors: [401, 404],
    handler: async ({ db, actor, params }) => {
      await deleteProjectTasks(db, actor, params.id);
      return undefined;
    },
  }),
  route({
    method: "GET",
    path: "/api/tasks/{id}/",
    summary: "Get a task",
    tag: "Tasks",
    params: TaskPath,
    success: {
      status: 200,
      description: "The task with its annotations, predictions and drafts.",
      schema: TaskDetailOut,
    },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getTask(db, actor, params.id),
  }),
  route({
    method: "PATCH",
    path: "/api/tasks/{id}/",
    summary: "Update a task's data, meta or overlap",
    tag: "Tasks",
    params: TaskPath,
    body: TaskUpdateBody,
    forms: TASK_FORM_FIELDS,
    success: { status: 200, description: "The updated task.", schema: TaskOut },
    errors: [400, 401, 404, 413, 415],
    handler: ({ db, actor, params, body }) => updateTask(db, actor, { ...body, id: params.id }),
  }),
  route({
    method: "DELETE",
    path: "/api/tasks/{id}/",
    summary: "Delete a task",
    tag: "Tasks",
    params: TaskPath,
    success: { status: 204, description: "Deleted." },
    errors: [401, 404],
    handler: async ({ db, actor, params }) => {
      await deleteTask(db, actor, params.id);
      return undefined;
    },
  }),
];
