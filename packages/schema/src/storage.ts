/**
 * Import storages as Label Studio serves them (`/api/storages/s3/`, `/api/storages/localfiles/`),
 * plus Taskport's sync policies. The same shapes serve REST and tRPC.
 */
import { z } from "zod";
import { MAX_INT_ID, ProjectId } from "./ids";
import { StorableString } from "./storable-string";

export const STORAGE_TYPES = ["s3", "localfiles"] as const;
export const StorageType = z.enum(STORAGE_TYPES);
export type StorageType = z.infer<typeof StorageType>;

export const StorageId = z.number().int().min(1).max(MAX_INT_ID);

/** Label Studio's storage statuses. */
export const STORAGE_STATUSES = [
  "initialized",
  "queued",
  "in_progress",
  "failed",
  "completed",
  "completed_with_errors",
] as const;
export const StorageStatus = z.enum(STORAGE_STATUSES);
export type StorageStatus = z.infer<typeof StorageStatus>;

/** What a sync does with an object whose ETag changed: update its tasks, or add new ones. */
export const OnChangePolicy = z.enum(["update", "create"]);
/** What a sync does with the tasks of an object that is gone: keep them (marked), or delete. */
export const OnDeletePolicy = z.enum(["keep", "delete"]);

const optionalText = (max: number) => StorableString.max(max).nullish();

/** S3 bucket names as botocore accepts them. */
const Bucket = StorableString.regex(
  /^[a-zA-Z0-9.\-_]{1,255}$/,
  "Invalid bucket name: use letters, digits, '.', '-' and '_'.",
);

const Endpoint = StorableString.max(2000).refine(
  (value) => /^https?:\/\/[^\s]+$/i.test(value),
  "Enter an http:// or https:// URL.",
);

/** Fields every import storage has. */
const commonFields = {
  project: ProjectId,
  title: optionalText(256),
  description: optionalText(10_000),
  regex_filter: optionalText(1000),
  use_blob_urls: z.boolean().optional(),
  recursive_scan: z.boolean().optional(),
  synchronizable: z.boolean().optional(),
  on_change: OnChangePolicy.optional(),
  on_delete: OnDeletePolicy.optional(),
  /** Minutes between automatic syncs (null: sync only on request). */
  sync_interval_minutes: z.number().int().min(1).max(525_600).nullish(),
};

const s3Fields = {
  bucket: Bucket.nullish(),
  prefix: optionalText(1024),
  presign: z.boolean().optional(),
  presign_ttl: z.number().int().min(1).max(10_080).optional(),
  aws_access_key_id: optionalText(1024),
  aws_secret_access_key: optionalText(1024),
  aws_session_token: optionalText(4096),
  aws_sse_kms_key_id: optionalText(2048),
  region_name: optionalText(64),
  s3_endpoint: Endpoint.nullish(),
};

const localFields = {
  path: optionalText(4096),
};

export const S3StorageCreateInput = z.object({ ...commonFields, ...s3Fields });
export type S3StorageCreateInput = z.input<typeof S3StorageCreateInput>;

export const LocalStorageCreateInput = z.object({ ...commonFields, ...localFields });
export type LocalStorageCreateInput = z.input<typeof LocalStorageCreateInput>;

export const S3StorageUpdateInput = S3StorageCreateInput.partial().extend({ id: StorageId });
export type S3StorageUpdateInput = z.input<typeof S3StorageUpdateInput>;

export const LocalStorageUpdateInput = LocalStorageCreateInput.partial().extend({ id: StorageId });
export type LocalStorageUpdateInput = z.input<typeof LocalStorageUpdateInput>;

/** Validate a storage's settings (and, with `id`, the stored ones they change). */
export const S3StorageValidateInput = S3StorageCreateInput.extend({ id: StorageId.nullish() });
export const LocalStorageValidateInput = LocalStorageCreateInput.extend({
  id: StorageId.nullish(),
});

export const StorageByIdInput = z.object({ type: StorageType, id: StorageId });
export type StorageByIdInput = z.infer<typeof StorageByIdInput>;

export const StorageListInput = z.object({ type: StorageType, project: ProjectId });
export type StorageListInput = z.infer<typeof StorageListInput>;

/** tRPC: one input for both kinds, told apart by `type`. */
export const StorageCreateInput = z.discriminatedUnion("type", [
  S3StorageCreateInput.extend({ type: z.literal("s3") }),
  LocalStorageCreateInput.extend({ type: z.literal("localfiles") }),
]);
export type StorageCreateInput = z.input<typeof StorageCreateInput>;

export const StorageUpdateInput = z.discriminatedUnion("type", [
  S3StorageUpdateInput.extend({ type: z.literal("s3") }),
  LocalStorageUpdateInput.extend({ type: z.literal("localfiles") }),
]);
export type StorageUpdateInput = z.input<typeof StorageUpdateInput>;

export const StorageValidateInput = z.discriminatedUnion("type", [
  S3StorageValidateInput.extend({ type: z.literal("s3") }),
  LocalStorageValidateInput.extend({ type: z.literal("localfiles") }),
]);
export type StorageValidateInput = z.input<typeof StorageValidateInput>;

/** An object the sync could not turn into tasks (the first 100 of a sync are kept). */
export const SyncError = z.object({
  key: z.string(),
  row: z.number().int().nullable(),
  message: z.string(),
});
export type SyncError = z.infer<typeof SyncError>;

/** A sync's progress: what it listed, and what it did with each task. */
export const SyncProgress = z.object({
  phase: z.enum(["listing", "done"]),
  /** Objects the sync expects to list: the folder's count, or what the last sync saw. */
  objects_expected: z.number().int(),
  objects_listed: z.number().int(),
  objects_skipped: z.number().int(),
  tasks_created: z.number().int(),
  tasks_updated: z.number().int(),
  tasks_skipped: z.number().int(),
  tasks_deleted: z.number().int(),
  tasks_marked: z.number().int(),
  error_count: z.number().int(),
  errors: z.array(SyncError),
});
export type SyncProgress = z.infer<typeof SyncProgress>;

/** A storage as Label Studio answers it (credentials never included), plus Taskport's fields. */
export const ImportStorage = z.object({
  id: z.number().int(),
  type: StorageType,
  synchronizable: z.boolean(),
  presign: z.boolean().optional(),
  bucket: z.string().nullable().optional(),
  prefix: z.string().nullable().optional(),
  path: z.string().nullable().optional(),
  regex_filter: z.string().nullable(),
  use_blob_urls: z.boolean(),
  aws_sse_kms_key_id: z.string().nullable().optional(),
  region_name: z.string().nullable().optional(),
  s3_endpoint: z.string().nullable().optional(),
  presign_ttl: z.number().int().optional(),
  recursive_scan: z.boolean(),
  last_sync: z.date().nullable(),
  last_sync_count: z.number().int().nullable(),
  last_sync_job: z.string().nullable(),
  status: StorageStatus,
  traceback: z.string().nullable(),
  meta: z.record(z.string(), z.unknown()),
  title: z.string().nullable(),
  description: z.string().nullable(),
  created_at: z.date(),
  project: z.number().int(),
  on_change: OnChangePolicy,
  on_delete: OnDeletePolicy,
  sync_interval_minutes: z.number().int().nullable(),
  /** Whether credentials are stored (they are never returned). */
  has_credentials: z.boolean().optional(),
});
export type ImportStorage = z.infer<typeof ImportStorage>;
