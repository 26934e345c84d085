import { z } from "zod";
import { PageInput } from "./pagination";
import { ProjectId } from "./project";

/** A JSON object: task `data` and `meta` are free-form dictionaries. */
export const JsonObject = z.record(z.string(), z.unknown());
export type JsonObject = z.infer<typeof JsonObject>;

export const TaskId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/**
 * What a client sends to create a task. The server checks a raw body in Label Studio's order
 * (the project is looked up before the fields are validated), so this schema is the typed
 * shape of a valid body and the rules each field must meet, not the order they are checked in.
 */
export const TaskCreateInput = z.object({
  data: JsonObject,
  project: ProjectId,
  meta: JsonObject.optional(),
  overlap: z.number().int().min(1).max(1000).optional(),
});
export type TaskCreateInput = z.infer<typeof TaskCreateInput>;

export const TaskUpdateInput = z.object({
  id: TaskId,
  data: JsonObject.optional(),
  meta: JsonObject.optional(),
  overlap: z.number().int().min(1).max(1000).optional(),
});
export type TaskUpdateInput = z.infer<typeof TaskUpdateInput>;

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
