/**
 * Import storages (Label Studio's storage API for S3 and local folders), always within the
 * caller's organization. A storage's status, last sync and progress are read from its last
 * sync job (jobs/): there is no second copy of them to disagree.
 */
import type {
  ImportStorage,
  LocalStorageCreateInput,
  S3StorageCreateInput,
  StorageStatus,
  StorageType,
  SyncProgress,
} from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, asc, eq } from "drizzle-orm";
import type { z } from "zod";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { importStorages, jobs, projects } from "../db/schema";
import { notFound, validationError } from "../errors";
import type { JobRow, JobSystem } from "../jobs/system";
import { requireJobs } from "./job";
import type { NetworkPolicy } from "./network-policy";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { encryptCredentials, type StorageCredentials } from "./storage-crypto";
import { openSource, regexFilterError, type StorageRow } from "./storage-source";
import { enqueueSync } from "./storage-sync";

export interface StorageSettings {
  /** The server's JWT key: credentials are encrypted under a key derived from it. */
  secretKey?: Uint8Array;
  /** TASKPORT_LOCAL_FILES_ROOT. */
  localFilesRoot?: string;
  /** Where S3 endpoints may be (TASKPORT_OUTBOUND_ALLOW_NETWORKS / _DENY_NETWORKS). */
  network?: NetworkPolicy;
}

type S3Input = z.output<typeof import("@taskport/schema").S3StorageCreateInput>;
type LocalInput = z.output<typeof import("@taskport/schema").LocalStorageCreateInput>;
export type StorageFields = Partial<S3Input & LocalInput>;

const MODEL_NAMES: Record<StorageType, string> = {
  s3: "S3ImportStorage",
  localfiles: "LocalFilesImportStorage",
};

export function storageNotFound(type: StorageType): string {
  return `No ${MODEL_NAMES[type]} matches the given query.`;
}

/** Label Studio's status of a storage, from its last sync job. */
export function storageStatus(job: JobRow | null): StorageStatus {
  if (!job) return "initialized";
  switch (job.status) {
    case "queued":
    case "retrying":
      return "queued";
    case "running":
      return "in_progress";
    case "completed":
      return Number(job.progress.error_count ?? 0) > 0 ? "completed_with_errors" : "completed";
    default:
      return "failed";
  }
}

function traceback(job: JobRow | null): string | null {
  if (!job) return null;
  if (job.status === "cancelled") return "The sync was cancelled.";
  if (job.status === "failed") return job.error;
  const errors = (job.progress.errors ?? []) as SyncProgress["errors"];
  if (errors.length === 0) return job.status === "retrying" ? job.error : null;
  const lines = errors.map(
    (e) => `${e.key}${e.row === null ? "" : ` (row ${e.row})`}: ${e.message}`,
  );
  const more = Number(job.progress.error_count ?? 0) - errors.length;
  if (more > 0) lines.push(`... and ${more} more`);
  return lines.join("\n");
}

function meta(job: JobRow | null): Record<string, unknown> {
  if (!job) return {};
  const { errors: _errors, cursor: _cursor, started: _started, ...counters } = job.progress;
  const end = job.finishedAt ?? (job.status === "running" ? new Date() : null);
  return {
    ...counters,
    attempts: job.attempt,
    job_status: job.status,
    time_queued: job.createdAt.toISOString(),
    ...(job.startedAt ? { time_in_progress: job.startedAt.toISOString() } : {}),
    ...(job.finishedAt ? { time_completed: job.finishedAt.toISOString() } : {}),
    ...(job.startedAt && end ? { duration: (end.getTime() - job.startedAt.getTime()) / 1000 } : {}),
    tasks_existed: Number(job.progress.tasks_skipped ?? 0),
  };
}

export function toImportStorage(row: StorageRow, job: JobRow | null): ImportStorage {
  const common = {
    id: row.id,
    type: row.type,
    synchronizable: row.synchronizable,
    regex_filter: row.regexFilter,
    use_blob_urls: row.useBlobUrls,
    recursive_scan: row.recursiveScan,
    last_sync: job?.status === "completed" ? job.finishedAt : null,
    last_sync_count: job ? Number(job.progress.tasks_created ?? 0) : null,
    last_sync_job: job?.id ?? null,
    status: storageStatus(job),
    traceback: traceback(job),
    meta: meta(job),
    title: row.title,
    description: row.description,
    created_at: row.createdAt,
    project: row.projectId,
    on_change: row.onChange,
    on_delete: row.onDelete,
    sync_interval_minutes: row.syncIntervalMinutes,
  };
  if (row.type === "localfiles") return { ...common, path: row.path };
  return {
    ...common,
    presign: row.presign,
    bucket: row.bucket,
    prefix: row.prefix,
    aws_sse_kms_key_id: row.awsSseKmsKeyId,
    region_name: row.regionName,
    s3_endpoint: row.s3Endpoint,
    presign_ttl: row.presignTtl,
    has_credentials: row.credentials !== null,
  };
}

/** The storage and its last sync job, if the storage belongs to the caller's organization. */
export async function findStorage(
  db: Db,
  actor: Actor,
  type: StorageType,
  id: number,
): Promise<{ storage: StorageRow; job: JobRow | null } | undefined> {
  const [found] = await db
    .select({ storage: importStorages, job: jobs })
    .from(importStorages)
    .innerJoin(projects, eq(projects.id, importStorages.projectId))
    .leftJoin(jobs, eq(jobs.id, importStorages.lastSyncJobId))
    .where(
      and(
        eq(importStorages.id, id),
        eq(importStorages.type, type),
        eq(projects.organizationId, actor.organizationId),
      ),
    );
  return found;
}

async function requireStorage(db: Db, actor: Actor, type: StorageType, id: number) {
  const found = await findStorage(db, actor, type, id);
  if (!found) throw notFound(storageNotFound(type));
  return found;
}

const CREDENTIAL_PAIR = "Access Key ID and Secret Access Key must be provided together.";

/** The stored row a create or an update would produce, checked field by field. */
function applyFields(
  type: StorageType,
  base: Omit<StorageRow, "id" | "createdAt" | "updatedAt">,
  fields: StorageFields,
  settings: StorageSettings,
): Omit<StorageRow, "id" | "createdAt" | "updatedAt"> {
  const next = { ...base };
  const set = <K extends keyof typeof next>(key: K, value: (typeof next)[K] | undefined) => {
    if (value !== undefined) next[key] = value;
  };
  set("title", fields.title);
  set("description", fields.description);
  set("regexFilter", fields.regex_filter);
  set("useBlobUrls", fields.use_blob_urls);
  set("recursiveScan", fields.recursive_scan);
  set("synchronizable", fields.synchronizable);
  set("onChange", fields.on_change);
  set("onDelete", fields.on_delete);
  set("syncIntervalMinutes", fields.sync_interval_minutes);
  const regexError = regexFilterError(next.regexFilter);
  if (regexError) throw validationError({ regex_filter: [regexError] });
  if (type === "localfiles") {
    set("path", fields.path);
    return next;
  }
  set("bucket", fields.bucket);
  set("prefix", fields.prefix);
  set("presign", fields.presign);
  set("presignTtl", fields.presign_ttl);
  set("regionName", fields.region_name);
  set("s3Endpoint", fields.s3_endpoint);
  set("awsSseKmsKeyId", fields.aws_sse_kms_key_id);
  if (!next.bucket) throw validationError({ bucket: ["This field is required."] });
  const keyId = fields.aws_access_key_id;
  const secret = fields.aws_secret_access_key;
  if ((keyId !== undefined) !== (secret !== undefined) || Boolean(keyId) !== Boolean(secret)) {
    const missing = keyId ? "aws_secret_access_key" : "aws_access_key_id";
    throw validationError({ [missing]: [CREDENTIAL_PAIR] });
  }
  if (keyId !== undefined || fields.aws_session_token !== undefined) {
    const credentials: StorageCredentials = {
      aws_access_key_id: keyId ?? null,
      aws_secret_access_key: secret ?? null,
      aws_session_token: fields.aws_session_token ?? null,
    };
    if (!credentials.aws_access_key_id && !credentials.aws_session_token) {
      next.credentials = null;
    } else {
      if (!settings.secretKey)
        throw new TRPCError({
          code: "SERVICE_UNAVAILABLE",
          message: "This server has no secret key to encrypt storage credentials with.",
        });
      next.credentials = encryptCredentials(settings.secretKey, credentials);
    }
  }
  return next;
}

function emptyRow(
  type: StorageType,
  projectId: number,
  createdBy: number,
): Omit<StorageRow, "id" | "createdAt" | "updatedAt"> {
  return {
    projectId,
    createdBy,
    type,
    title: null,
    description: null,
    bucket: null,
    prefix: null,
    path: null,
    regexFilter: null,
    useBlobUrls: false,
    presign: true,
    presignTtl: 1,
    recursiveScan: false,
    regionName: null,
    s3Endpoint: null,
    awsSseKmsKeyId: null,
    credentials: null,
    synchronizable: true,
    onChange: "update",
    onDelete: "keep",
    syncIntervalMinutes: null,
    lastSyncJobId: null,
  };
}

/** Fields whose change means the connection must be checked again. */
const CONNECTION_FIELDS = [
  "bucket",
  "prefix",
  "path",
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "region_name",
  "s3_endpoint",
] as const;

async function checkConnection(
  row: Omit<StorageRow, "id" | "createdAt" | "updatedAt">,
  settings: StorageSettings,
): Promise<void> {
  try {
    const source = openSource(
      { ...row, id: 0, createdAt: new Date(), updatedAt: new Date() },
      settings,
    );
    await source.validate();
  } catch (error) {
    if (error instanceof TRPCError) throw error;
    // Whatever else the settings lead to (an endpoint the client cannot use, say) is the
    // caller's to fix, and said so, rather than a server error.
    throw validationError({}, [`The storage cannot be read: ${(error as Error).message}`]);
  }
}

export async function createStorage(
  db: Db,
  settings: StorageSettings,
  actor: Actor,
  type: StorageType,
  input: S3Input | LocalInput,
): Promise<ImportStorage> {
  const project = await findProject(db, actor, input.project);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const row = applyFields(type, emptyRow(type, project.id, actor.userId), input, settings);
  // As Label Studio does: a storage that cannot be read is refused at creation.
  await checkConnection(row, settings);
  const [created] = await db.insert(importStorages).values(row).returning();
  if (!created) throw new Error("storage insert returned no row");
  return toImportStorage(created, null);
}

export async function listStorages(
  db: Db,
  actor: Actor,
  type: StorageType,
  projectId: number,
): Promise<ImportStorage[]> {
  const project = await findProject(db, actor, projectId);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const rows = await db
    .select({ storage: importStorages, job: jobs })
    .from(importStorages)
    .leftJoin(jobs, eq(jobs.id, importStorages.lastSyncJobId))
    .where(and(eq(importStorages.projectId, project.id), eq(importStorages.type, type)))
    .orderBy(asc(importStorages.id));
  return rows.map((r) => toImportStorage(r.storage, r.job));
}

export async function getStorage(
  db: Db,
  actor: Actor,
  type: StorageType,
  id: number,
): Promise<ImportStorage> {
  const { storage, job } = await requireStorage(db, actor, type, id);
  return toImportStorage(storage, job);
}

export async function updateStorage(
  db: Db,
  settings: StorageSettings,
  actor: Actor,
  type: StorageType,
  id: number,
  fields: StorageFields,
): Promise<ImportStorage> {
  const { storage, job } = await requireStorage(db, actor, type, id);
  if (fields.project !== undefined && fields.project !== storage.projectId) {
    const project = await findProject(db, actor, fields.project);
    if (!project) throw notFound(PROJECT_NOT_FOUND);
  }
  const {
    id: _id,
    createdAt: _createdAt,
    updatedAt: _updatedAt,
    ...next
  } = applyFields(type, storage, fields, settings) as StorageRow;
  if (fields.project !== undefined) next.projectId = fields.project;
  if (CONNECTION_FIELDS.some((field) => fields[field] !== undefined))
    await checkConnection(next, settings);
  const [updated] = await db
    .update(importStorages)
    .set({ ...next, updatedAt: new Date() })
    .where(eq(importStorages.id, storage.id))
    .returning();
  if (!updated) throw notFound(storageNotFound(type));
  return toImportStorage(updated, job);
}

/** Deletes a storage; its running sync is cancelled, its tasks stay (as in Label Studio). */
export async function deleteStorage(
  db: Db,
  system: JobSystem | undefined,
  actor: Actor,
  type: StorageType,
  id: number,
): Promise<void> {
  const { storage, job } = await requireStorage(db, actor, type, id);
  if (job && system) await system.cancel(job.id);
  await db.delete(importStorages).where(eq(importStorages.id, storage.id));
}

/** Checks settings (merged over the stored ones when `id` is given) without saving them. */
export async function validateStorage(
  db: Db,
  settings: StorageSettings,
  actor: Actor,
  type: StorageType,
  input: (S3Input | LocalInput) & { id?: number | null },
): Promise<void> {
  let base = emptyRow(type, input.project, actor.userId);
  if (input.id) base = (await requireStorage(db, actor, type, input.id)).storage;
  else if (!(await findProject(db, actor, input.project))) throw notFound(PROJECT_NOT_FOUND);
  await checkConnection(applyFields(type, base, input, settings), settings);
}

/**
 * Starts a sync of the storage, or answers the one already queued or running: a storage never
 * syncs twice at once (one unfinished job per storage key, in the database).
 */
export async function syncStorage(
  db: Db,
  settings: StorageSettings,
  system: JobSystem | undefined,
  actor: Actor,
  type: StorageType,
  id: number,
): Promise<ImportStorage> {
  const jobsSystem = requireJobs(system);
  const { storage } = await requireStorage(db, actor, type, id);
  if (!storage.synchronizable)
    throw validationError({}, [`Storage ${storage.id} is not synchronizable`]);
  await checkConnection(storage, settings);
  await enqueueSync(db, jobsSystem, storage, actor.userId, actor.organizationId);
  return getStorage(db, actor, type, id);
}

/** Cancels the storage's running or queued sync; answers the storage. */
export async function cancelSync(
  db: Db,
  system: JobSystem | undefined,
  actor: Actor,
  type: StorageType,
  id: number,
): Promise<ImportStorage> {
  const { job } = await requireStorage(db, actor, type, id);
  if (job) await requireJobs(system).cancel(job.id);
  return getStorage(db, actor, type, id);
}

export type { LocalStorageCreateInput, S3StorageCreateInput };
