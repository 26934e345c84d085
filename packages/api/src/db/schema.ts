/**
 * Taskport's tables. Every foreign key that is looked up or cascaded through has an index of
 * its own (named below); tasks are found by (project_id, inner_id), which also serves the
 * project foreign key.
 */
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const createdAt = () => timestamp({ withTimezone: true, mode: "date" }).notNull().defaultNow();
const updatedAt = () => timestamp({ withTimezone: true, mode: "date" }).notNull().defaultNow();

export const organizations = pgTable("organizations", {
  id: integer().primaryKey().generatedAlwaysAsIdentity(),
  title: text().notNull(),
  createdAt: createdAt(),
});

export const users = pgTable(
  "users",
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    organizationId: integer()
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    // Stored lower-cased so that one address is one account.
    email: text().notNull(),
    passwordHash: text(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("users_email_key").on(t.email),
    index("users_organization_id_idx").on(t.organizationId),
  ],
);

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text().notNull().default("default"),
    // "key": a secret sent as `Token <key>` or `X-Api-Key`; "pat": a personal access token, a
    // long-lived refresh JWT exchanged at /api/token/refresh/ for short-lived access JWTs.
    kind: text().$type<"key" | "pat">().notNull().default("key"),
    // SHA-256 of the secret: the secret itself is shown once and never stored.
    tokenHash: text().notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp({ withTimezone: true, mode: "date" }),
  },
  (t) => [
    uniqueIndex("api_tokens_token_hash_key").on(t.tokenHash),
    index("api_tokens_user_id_idx").on(t.userId),
  ],
);

export const projects = pgTable(
  "projects",
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    organizationId: integer()
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    createdBy: integer().references(() => users.id, { onDelete: "set null" }),
    title: text().notNull(),
    description: text().notNull().default(""),
    labelConfig: text().notNull().default("<View></View>"),
    maximumAnnotations: integer().notNull().default(1),
    // Label Studio's project settings, with its defaults (see @taskport/schema's Project).
    expertInstruction: text().default(""),
    showInstruction: boolean().notNull().default(false),
    showSkipButton: boolean().notNull().default(true),
    enableEmptyAnnotation: boolean().notNull().default(true),
    showAnnotationHistory: boolean().notNull().default(false),
    color: text().notNull().default("#FFFFFF"),
    isPublished: boolean().notNull().default(false),
    modelVersion: text().default(""),
    isDraft: boolean().notNull().default(false),
    minAnnotationsToStartTraining: integer().notNull().default(0),
    showCollabPredictions: boolean().notNull().default(true),
    sampling: text()
      .$type<"Sequential sampling" | "Uniform sampling" | "Uncertainty sampling">()
      .notNull()
      .default("Sequential sampling"),
    showGroundTruthFirst: boolean().notNull().default(false),
    annotatorEvaluationEnabled: boolean().notNull().default(true),
    showOverlapFirst: boolean().notNull().default(false),
    overlapCohortPercentage: integer().notNull().default(100),
    taskDataLogin: text(),
    taskDataPassword: text(),
    controlWeights: jsonb()
      .$type<Record<string, { overall: number; type: string; labels: Record<string, number> }>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    evaluatePredictionsAutomatically: boolean().notNull().default(false),
    skipQueue: text()
      .$type<"REQUEUE_FOR_ME" | "REQUEUE_FOR_OTHERS" | "IGNORE_SKIPPED">()
      .notNull()
      .default("REQUEUE_FOR_OTHERS"),
    revealPreannotationsInteractively: boolean().notNull().default(false),
    pinnedAt: timestamp({ withTimezone: true, mode: "date" }),
    // Tasks the project holds now, kept by every create, import and delete so that nothing
    // ever counts a whole project.
    taskNumber: integer().notNull().default(0),
    // The last inner_id handed out. Incrementing it takes the project row's lock, which is
    // what keeps inner_id unique and gap-free across connections and server processes.
    lastInnerId: bigint({ mode: "number" }).notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("projects_organization_id_idx").on(t.organizationId, t.id),
    // The list's default order: pinned first, then newest.
    index("projects_organization_pinned_idx").on(
      t.organizationId,
      t.pinnedAt.desc().nullsLast(),
      t.createdAt.desc(),
    ),
    index("projects_created_by_idx").on(t.createdBy),
  ],
);

export const tasks = pgTable(
  "tasks",
  {
    // By default rather than always: the batched create (services/task-writer.ts) inserts
    // with INSERT ... SELECT, which names every column and so takes ids from nextval().
    id: bigint({ mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    projectId: integer()
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    innerId: bigint({ mode: "number" }).notNull(),
    data: jsonb().$type<Record<string, unknown>>().notNull(),
    meta: jsonb().$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    overlap: integer().notNull().default(1),
    isLabeled: boolean().notNull().default(false),
    totalAnnotations: integer().notNull().default(0),
    cancelledAnnotations: integer().notNull().default(0),
    totalPredictions: integer().notNull().default(0),
    commentCount: integer().notNull().default(0),
    unresolvedCommentCount: integer().notNull().default(0),
    lastCommentUpdatedAt: timestamp({ withTimezone: true, mode: "date" }),
    fileUploadId: bigint({ mode: "number" }).references((): AnyPgColumn => fileUploads.id, {
      onDelete: "set null",
    }),
    createdBy: integer().references(() => users.id, { onDelete: "set null" }),
    updatedBy: integer().references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("tasks_project_id_inner_id_key").on(t.projectId, t.innerId),
    // Partial: most tasks are never updated, and these only serve ON DELETE SET NULL of users.
    index("tasks_created_by_idx").on(t.createdBy).where(sql`${t.createdBy} is not null`),
    index("tasks_updated_by_idx").on(t.updatedBy).where(sql`${t.updatedBy} is not null`),
    index("tasks_file_upload_id_idx").on(t.fileUploadId).where(sql`${t.fileUploadId} is not null`),
  ],
);

export const fileUploads = pgTable(
  "file_uploads",
  {
    id: bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    projectId: integer()
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    createdBy: integer().references(() => users.id, { onDelete: "set null" }),
    fileName: text().notNull(),
    format: text().notNull(),
    size: bigint({ mode: "number" }).notNull().default(0),
    // Where the file is kept, under the media folder: `upload/{project}/{8 hex}-{name}`, as
    // Label Studio names it (and serves it at /data/{file}). Null for rows made before files
    // were kept.
    file: text(),
    createdAt: createdAt(),
  },
  (t) => [
    index("file_uploads_project_id_idx").on(t.projectId),
    index("file_uploads_created_by_idx").on(t.createdBy).where(sql`${t.createdBy} is not null`),
    // Media URLs are looked up by the stored name.
    uniqueIndex("file_uploads_file_key").on(t.file),
  ],
);

/**
 * One import request and what it did (Label Studio's ProjectImport): answered by
 * GET /api/projects/{id}/imports/{import_pk}/.
 */
export const projectImports = pgTable(
  "project_imports",
  {
    id: bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    projectId: integer()
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    createdBy: integer().references(() => users.id, { onDelete: "set null" }),
    status: text()
      .$type<"created" | "in_progress" | "failed" | "completed">()
      .notNull()
      .default("created"),
    url: text(),
    traceback: text(),
    error: text(),
    commitToProject: boolean().notNull().default(true),
    returnTaskIds: boolean().notNull().default(false),
    preannotatedFromFields: jsonb().$type<string[]>(),
    taskCount: integer().notNull().default(0),
    annotationCount: integer().notNull().default(0),
    predictionCount: integer().notNull().default(0),
    duration: real().notNull().default(0),
    fileUploadIds: jsonb().$type<number[]>().notNull().default(sql`'[]'::jsonb`),
    couldBeTasksList: boolean().notNull().default(false),
    foundFormats: jsonb().$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    dataColumns: jsonb().$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    taskIds: jsonb().$type<number[]>().notNull().default(sql`'[]'::jsonb`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: timestamp({ withTimezone: true, mode: "date" }),
  },
  (t) => [
    index("project_imports_project_id_idx").on(t.projectId),
    index("project_imports_created_by_idx").on(t.createdBy).where(sql`${t.createdBy} is not null`),
  ],
);

export const annotations = pgTable(
  "annotations",
  {
    id: bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    taskId: bigint({ mode: "number" })
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    projectId: integer()
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    result: jsonb().$type<unknown[]>().notNull().default(sql`'[]'::jsonb`),
    wasCancelled: boolean().notNull().default(false),
    groundTruth: boolean().notNull().default(false),
    completedBy: integer().references(() => users.id, { onDelete: "set null" }),
    updatedBy: integer().references(() => users.id, { onDelete: "set null" }),
    leadTime: real(),
    draftCreatedAt: timestamp({ withTimezone: true, mode: "date" }),
    // The annotation's id where it was exported from, when it was imported.
    importId: bigint({ mode: "number" }),
    // Created by POST /api/annotations/bulk/.
    bulkCreated: boolean().notNull().default(false),
    parentPredictionId: bigint({ mode: "number" }).references((): AnyPgColumn => predictions.id, {
      onDelete: "set null",
    }),
    parentAnnotationId: bigint({ mode: "number" }).references((): AnyPgColumn => annotations.id, {
      onDelete: "set null",
    }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // (task_id, id): a task's annotations in Label Studio's order, and the task foreign key.
    index("annotations_task_id_idx").on(t.taskId, t.id),
    index("annotations_project_id_idx").on(t.projectId),
    index("annotations_completed_by_idx")
      .on(t.completedBy)
      .where(sql`${t.completedBy} is not null`),
    // Partial: these only serve ON DELETE SET NULL, and most annotations have none.
    index("annotations_updated_by_idx").on(t.updatedBy).where(sql`${t.updatedBy} is not null`),
    index("annotations_parent_prediction_id_idx")
      .on(t.parentPredictionId)
      .where(sql`${t.parentPredictionId} is not null`),
    index("annotations_parent_annotation_id_idx")
      .on(t.parentAnnotationId)
      .where(sql`${t.parentAnnotationId} is not null`),
  ],
);

export const predictions = pgTable(
  "predictions",
  {
    id: bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    taskId: bigint({ mode: "number" })
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    projectId: integer()
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    result: jsonb().$type<unknown[]>().notNull().default(sql`'[]'::jsonb`),
    score: real(),
    modelVersion: text().notNull().default(""),
    cluster: integer(),
    neighbors: jsonb(),
    mislabeling: real().notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("predictions_task_id_idx").on(t.taskId, t.id),
    index("predictions_project_id_idx").on(t.projectId),
  ],
);

/** Browser sessions; the cookie holds a random secret, the table only its SHA-256. */
export const sessions = pgTable(
  "sessions",
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text().notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp({ withTimezone: true, mode: "date" }).notNull(),
  },
  (t) => [
    uniqueIndex("sessions_token_hash_key").on(t.tokenHash),
    index("sessions_user_id_idx").on(t.userId),
  ],
);

/**
 * Login attempts counted per key (an email as typed, normalized, with the address it came
 * from; or an address alone), known email or not, so that the counts say nothing about which
 * accounts exist. A window starts at a key's first attempt and ends WINDOW later.
 */
export const loginAttempts = pgTable("login_attempts", {
  key: text().primaryKey(),
  attempts: integer().notNull(),
  windowStartedAt: timestamp({ withTimezone: true, mode: "date" }).notNull(),
});

/**
 * Responses of creates sent with an Idempotency-Key, so that a replay within the retention
 * window answers the first response and creates nothing.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    organizationId: integer()
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    operation: text().notNull(),
    key: text().notNull(),
    // SHA-256 of the request (its body and the parameters that shape the result).
    requestHash: text().notNull(),
    statusCode: integer().notNull(),
    response: jsonb().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "idempotency_keys_pkey", columns: [t.organizationId, t.operation, t.key] }),
    index("idempotency_keys_created_at_idx").on(t.createdAt),
  ],
);

/** Server-wide settings shared by every process, such as the JWT signing key. */
export const settings = pgTable("settings", {
  key: text().primaryKey(),
  value: text().notNull(),
});

/**
 * Durable jobs (jobs/): the record of each job, read by callers and kept after pg-boss archives
 * its own rows. Each attempt is one pg-boss job (`bossId`, the current one): pg-boss stores and
 * hands out pending attempts (SKIP LOCKED, delayed starts); this row owns status, progress,
 * errors, the retry decision, and which process runs the job (worker id and heartbeat, so that
 * a job whose process died is retried).
 */
export const jobs = pgTable(
  "jobs",
  {
    id: uuid().primaryKey(),
    queue: text().notNull(),
    // The pg-boss job of the current attempt: an older attempt's pg-boss job can never claim
    // this row again.
    bossId: uuid().notNull(),
    // Null for server jobs that belong to no organization (the periodic sync tick).
    organizationId: integer().references(() => organizations.id, { onDelete: "cascade" }),
    // At most one unfinished job per key (e.g. one sync per storage): see the index below.
    key: text(),
    status: text()
      .$type<"queued" | "running" | "retrying" | "completed" | "failed" | "cancelled">()
      .notNull()
      .default("queued"),
    // The handler's input (pg-boss's own job only carries this row's id).
    data: jsonb().$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    progress: jsonb().$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    result: jsonb().$type<unknown>(),
    error: text(),
    // Attempts started so far, and how many are allowed.
    attempt: integer().notNull().default(0),
    maxAttempts: integer().notNull().default(1),
    workerId: text(),
    heartbeatAt: timestamp({ withTimezone: true, mode: "date" }),
    cancelRequestedAt: timestamp({ withTimezone: true, mode: "date" }),
    createdAt: createdAt(),
    startedAt: timestamp({ withTimezone: true, mode: "date" }),
    finishedAt: timestamp({ withTimezone: true, mode: "date" }),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("jobs_key_unfinished_key")
      .on(t.key)
      .where(sql`${t.status} in ('queued', 'running', 'retrying')`),
    // The reaper's scan: only running jobs are ever looked up by heartbeat.
    index("jobs_heartbeat_at_idx").on(t.heartbeatAt).where(sql`${t.status} = 'running'`),
    index("jobs_organization_id_idx").on(t.organizationId),
  ],
);

/**
 * Object keys compared byte by byte (collation "C"), the order in which S3 lists keys (UTF-8
 * binary) and in which local folders are scanned: a sync walks the listing and the stored keys
 * side by side, so both must sort alike.
 */
const objectKey = customType<{ data: string }>({ dataType: () => 'text collate "C"' });

/**
 * Import storages (Label Studio's `/api/storages/s3/` and `/api/storages/localfiles/`): where a
 * project's tasks come from. Credentials are stored encrypted (services/storage-crypto.ts) and
 * never returned. Status, last sync and progress are read from the last sync job.
 */
export const importStorages = pgTable(
  "import_storages",
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    projectId: integer()
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    createdBy: integer().references(() => users.id, { onDelete: "set null" }),
    type: text().$type<"s3" | "localfiles">().notNull(),
    title: text(),
    description: text(),
    // S3: bucket and prefix; local folders: an absolute path under TASKPORT_LOCAL_FILES_ROOT.
    bucket: text(),
    prefix: text(),
    path: text(),
    regexFilter: text(),
    useBlobUrls: boolean().notNull().default(false),
    presign: boolean().notNull().default(true),
    presignTtl: integer().notNull().default(1),
    recursiveScan: boolean().notNull().default(false),
    regionName: text(),
    s3Endpoint: text(),
    awsSseKmsKeyId: text(),
    // AES-256-GCM of {aws_access_key_id, aws_secret_access_key, aws_session_token}.
    credentials: text(),
    synchronizable: boolean().notNull().default(true),
    // What a sync does with an object whose ETag changed, and with one that disappeared.
    onChange: text().$type<"update" | "create">().notNull().default("update"),
    onDelete: text().$type<"keep" | "delete">().notNull().default("keep"),
    // Minutes between automatic syncs; null: only on request.
    syncIntervalMinutes: integer(),
    lastSyncJobId: uuid().references(() => jobs.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("import_storages_project_id_idx").on(t.projectId),
    index("import_storages_created_by_idx").on(t.createdBy).where(sql`${t.createdBy} is not null`),
    index("import_storages_last_sync_job_id_idx")
      .on(t.lastSyncJobId)
      .where(sql`${t.lastSyncJobId} is not null`),
    index("import_storages_sync_interval_idx")
      .on(t.syncIntervalMinutes)
      .where(sql`${t.syncIntervalMinutes} is not null`),
  ],
);

/**
 * Every object a storage's syncs have taken in, with the ETag (S3) or size and mtime (local
 * folder) it had: an object whose tag is unchanged is skipped without being read or written.
 */
export const storageObjects = pgTable(
  "storage_objects",
  {
    storageId: integer()
      .notNull()
      .references(() => importStorages.id, { onDelete: "cascade" }),
    key: objectKey().notNull(),
    etag: text().notNull(),
    size: bigint({ mode: "number" }).notNull().default(0),
    // Tasks the object yielded, and the reason its last read failed (retried by every sync).
    taskCount: integer().notNull().default(0),
    error: text(),
    syncedAt: timestamp({ withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: "storage_objects_pkey", columns: [t.storageId, t.key] })],
);

/** Which object and row of it each synced task came from (unique: a row is one task). */
export const storageLinks = pgTable(
  "storage_links",
  {
    taskId: bigint({ mode: "number" })
      .primaryKey()
      .references(() => tasks.id, { onDelete: "cascade" }),
    storageId: integer()
      .notNull()
      .references(() => importStorages.id, { onDelete: "cascade" }),
    key: objectKey().notNull(),
    // The task's index in its object: 0 for a media object or a one-task JSON file.
    row: integer().notNull().default(0),
    // False once the object is gone from the storage and its tasks were kept.
    objectExists: boolean().notNull().default(true),
  },
  (t) => [uniqueIndex("storage_links_storage_id_key_row_key").on(t.storageId, t.key, t.row)],
);

/**
 * Webhooks (Label Studio's `/api/webhooks/`): a URL that receives the organization's or one
 * project's events. `secret` signs every delivery (Standard Webhooks); it is shown once, at
 * creation and rotation. Taskport turns a webhook off after a run of failed deliveries and
 * says why in `disabledReason`.
 */
export const webhooks = pgTable(
  "webhooks",
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    organizationId: integer()
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    // Null: an organization webhook, for every project and the organization's own events.
    projectId: integer().references(() => projects.id, { onDelete: "cascade" }),
    url: text().notNull(),
    sendPayload: boolean().notNull().default(true),
    sendForAllActions: boolean().notNull().default(true),
    headers: jsonb().$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    isActive: boolean().notNull().default(true),
    actions: text().array().$type<string[]>().notNull().default(sql`'{}'::text[]`),
    secret: text().notNull(),
    consecutiveFailures: integer().notNull().default(0),
    disabledReason: text(),
    disabledAt: timestamp({ withTimezone: true, mode: "date" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // The emit check: the active webhooks of an organization.
    index("webhooks_organization_id_idx").on(t.organizationId),
    index("webhooks_project_id_idx").on(t.projectId).where(sql`${t.projectId} is not null`),
  ],
);

/**
 * The outbox: one row per event and webhook, written in the transaction of the change it
 * reports, so a committed change always has its rows and a rolled-back one never does. The
 * delivery worker sends a webhook's rows in id order; the row keeps the delivery log (status,
 * attempts, last answer, next attempt).
 */
export const webhookEvents = pgTable(
  "webhook_events",
  {
    id: bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    webhookId: integer()
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    // The `webhook-id` header, the same on every attempt so that receivers can deduplicate.
    messageId: uuid().notNull().defaultRandom(),
    action: text().notNull(),
    // The body as sent when the webhook sends payloads (`{action, ...}`), fixed at the change.
    payload: jsonb().$type<Record<string, unknown>>().notNull(),
    status: text().$type<"pending" | "delivered" | "failed">().notNull().default("pending"),
    attempts: integer().notNull().default(0),
    nextAttemptAt: timestamp({ withTimezone: true, mode: "date" }).notNull().defaultNow(),
    responseStatus: integer(),
    error: text(),
    createdAt: createdAt(),
    deliveredAt: timestamp({ withTimezone: true, mode: "date" }),
  },
  (t) => [
    // The log of a webhook, newest first, and the worker's walk through its pending rows.
    index("webhook_events_webhook_id_idx").on(t.webhookId, t.id),
    index("webhook_events_pending_idx").on(t.webhookId, t.id).where(sql`${t.status} = 'pending'`),
  ],
);
