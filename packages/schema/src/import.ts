import { z } from "zod";
import { ProjectId } from "./ids";
import { StorableString } from "./storable-string";

/** Most tasks one import request may hold (Label Studio's limit too). */
export const MAX_IMPORT_TASKS = 1_000_000;

/** The header that carries an idempotency key on REST (tRPC: the `idempotencyKey` input). */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/**
 * An Idempotency-Key: 1 to 255 visible ASCII characters; empty or absent means none. A replay
 * with the same key and the same request within 24 hours answers the first response and
 * creates nothing.
 */
export const IdempotencyKey = StorableString.regex(
  /^[\x21-\x7e]{0,255}$/,
  "An idempotency key is 1 to 255 visible ASCII characters.",
)
  .optional()
  .transform((key) => key || undefined);
export type IdempotencyKey = z.infer<typeof IdempotencyKey>;

/**
 * `task.import`: items as Label Studio imports them, `{data, annotations?, predictions?, meta?}`
 * or a flat object that is itself the data. Items are checked one by one by the server, with
 * Label Studio's messages, so they are not typed further here.
 */
export const TaskImportInput = z.object({
  project: ProjectId,
  items: z.array(z.unknown()),
  /** false: validate and count only, write nothing. */
  commitToProject: z.boolean().default(true),
  returnTaskIds: z.boolean().default(false),
  /** These data fields of each item become its predictions (Label Studio's option). */
  preannotatedFromFields: z.array(StorableString.min(1).max(1000)).max(1000).optional(),
  idempotencyKey: IdempotencyKey,
});
export type TaskImportInput = z.input<typeof TaskImportInput>;

/** What an import answers (Label Studio's body, same names). */
export const ImportResult = z.object({
  task_count: z.number().int(),
  annotation_count: z.number().int(),
  prediction_count: z.number().int(),
  /** Seconds. */
  duration: z.number(),
  file_upload_ids: z.array(z.number().int()),
  could_be_tasks_list: z.boolean(),
  /**
   * Each file's extension (".csv"), in order; `[]` for a body. Label Studio documents (and
   * its SDKs type) a list of strings, though its code answers a file import with a count per
   * extension, which the SDK models refuse.
   */
  found_formats: z.array(z.string()),
  /** The data keys of each file's first task that every file shares; `[]` for a body. */
  data_columns: z.array(z.string()),
  task_ids: z.array(z.number().int()).optional(),
  /** The import's record (REST): GET /api/projects/{id}/imports/{import}/. */
  import: z.number().int().optional(),
});
export type ImportResult = z.infer<typeof ImportResult>;

/** An import's state, as Label Studio names them. */
export const ImportStatus = z.enum(["created", "in_progress", "failed", "completed"]);
export type ImportStatus = z.infer<typeof ImportStatus>;

/**
 * One import request and what it did (Label Studio's ProjectImport, its fields in its order).
 * `tasks` is always null: the request's items are not kept.
 */
export const ProjectImport = z.object({
  id: z.number().int(),
  project: z.number().int(),
  preannotated_from_fields: z.array(z.string()).nullable(),
  commit_to_project: z.boolean(),
  return_task_ids: z.boolean(),
  status: ImportStatus,
  url: z.string().nullable(),
  traceback: z.string().nullable(),
  error: z.string().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
  finished_at: z.date().nullable(),
  task_count: z.number().int(),
  annotation_count: z.number().int(),
  prediction_count: z.number().int(),
  /** Whole seconds, as Label Studio stores them. */
  duration: z.number().int(),
  file_upload_ids: z.array(z.number().int()),
  could_be_tasks_list: z.boolean(),
  found_formats: z.array(z.string()),
  data_columns: z.array(z.string()),
  tasks: z.null(),
  task_ids: z.array(z.number().int()),
});
export type ProjectImport = z.infer<typeof ProjectImport>;

/** An uploaded file (Label Studio's FileUpload): `file` is its name under the media folder. */
export const FileUpload = z.object({
  id: z.number().int(),
  file: z.string(),
  size: z.number().int().nullable(),
});
export type FileUpload = z.infer<typeof FileUpload>;
