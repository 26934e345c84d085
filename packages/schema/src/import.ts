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
   * File extensions (".csv") and how many files of each the request held; `[]` for an import
   * of a body, as Label Studio answers.
   */
  found_formats: z.union([z.tuple([]), z.record(z.string(), z.number().int())]),
  /** The data keys of each file's first task that every file shares; `[]` for a body. */
  data_columns: z.array(z.string()),
  task_ids: z.array(z.number().int()).optional(),
});
export type ImportResult = z.infer<typeof ImportResult>;
