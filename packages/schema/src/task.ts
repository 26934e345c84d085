import { z } from "zod";
import { isJsonObject, ProjectId, TaskId } from "./ids";
import { IdempotencyKey } from "./import";
import { PageInput } from "./pagination";

/** A JSON object: task `data` and `meta` are free-form dictionaries. */
export const JsonObject = z.record(z.string(), z.unknown());
export type JsonObject = z.infer<typeof JsonObject>;

/** What a client sends to create a task: the documented shape of a valid body. */
export const TaskCreateInput = z.object({
  data: JsonObject,
  project: ProjectId,
  meta: JsonObject.optional(),
  overlap: z.number().int().min(1).max(1000).optional(),
});
export type TaskCreateInput = z.infer<typeof TaskCreateInput>;

export const TASK_BODY_NOT_OBJECT =
  'The request body must be a JSON object such as {"data": {"text": "..."}, "project": 1}.';

/**
 * `task.create`'s input. Its type is the documented shape (TaskCreateInput, plus the key);
 * parsing checks what Label Studio checks before it looks the project up: the body is an
 * object, and the idempotency key is well-formed. The service checks the fields after the
 * project lookup, in Label Studio's order (contract section 1), as it does for REST.
 */
export const TaskCreateRequest = z
  .custom<TaskCreateInput & { idempotencyKey?: string }>(isJsonObject, {
    error: TASK_BODY_NOT_OBJECT,
  })
  .transform(
    ({ idempotencyKey, ...body }): { idempotencyKey?: unknown; body: Record<string, unknown> } => ({
      idempotencyKey,
      body,
    }),
  )
  .pipe(z.object({ idempotencyKey: IdempotencyKey, body: z.record(z.string(), z.unknown()) }));

const taskUpdateFields = {
  data: JsonObject.optional(),
  meta: JsonObject.optional(),
  overlap: z.number().int().min(1).max(1000).optional(),
};

export const TaskUpdateInput = z.object({ id: TaskId, ...taskUpdateFields });
export type TaskUpdateInput = z.infer<typeof TaskUpdateInput>;

/** PATCH /api/tasks/{id}/'s body: the fields to change (the id is in the URL). */
export const TaskUpdateBody = z.object(taskUpdateFields, {
  error: "The request body must be a JSON object of the fields to change.",
});

export const TaskByIdInput = z.object({ id: TaskId });
export type TaskByIdInput = z.infer<typeof TaskByIdInput>;

export const TaskListInput = PageInput.extend({
  project: ProjectId,
  /** `-inner_id` lists the newest tasks first (the web app's table). */
  ordering: z.enum(["inner_id", "-inner_id"]).default("inner_id"),
});
export type TaskListInput = z.input<typeof TaskListInput>;

/** The created task: the 18 fields of Label Studio's response, same names, same order. */
export const Task = z.object({
  id: z.number().int(),
  data: JsonObject,
  meta: JsonObject,
  created_at: z.date(),
  updated_at: z.date(),
  is_labeled: z.boolean(),
  overlap: z.number().int(),
  inner_id: z.number().int(),
  total_annotations: z.number().int(),
  cancelled_annotations: z.number().int(),
  total_predictions: z.number().int(),
  comment_count: z.number().int(),
  unresolved_comment_count: z.number().int(),
  last_comment_updated_at: z.date().nullable(),
  project: z.number().int(),
  updated_by: z.number().int().nullable(),
  file_upload: z.number().int().nullable(),
  comment_authors: z.array(z.number().int()),
});
export type Task = z.infer<typeof Task>;

export const TASK_FIELDS = Object.keys(Task.shape) as (keyof Task)[];

export const TaskList = z.object({
  tasks: z.array(Task),
  total: z.number().int(),
  total_annotations: z.number().int(),
  total_predictions: z.number().int(),
});
export type TaskList = z.infer<typeof TaskList>;
