/**
 * Media of synced storages, on read. A task made from a media object holds its URI
 * (`s3://bucket/key`); reads answer Taskport's URL for it instead,
 * `/api/tasks/{id}/resolve/?fileuri=<base64url of the URI>` (Label Studio's scheme), which
 * redirects to a presigned URL valid `presign_ttl` minutes (presign on) or streams the object
 * through Taskport (presign off). Reads therefore need no credentials and stay cheap: only
 * tasks holding an `s3://` string cost one lookup of the project's S3 storages.
 */
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { Task } from "@taskport/schema";
import { and, eq, inArray } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { importStorages, projects, tasks } from "../db/schema";
import { notFound, validationError } from "../errors";
import { TargetRefused } from "./network-policy";
import { endpointRefused, presignedUrl, type SourceOptions, s3ClientFor } from "./storage-source";

const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;

function hasS3Uri(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return value.startsWith("s3://");
  if (depth > 16 || value === null || typeof value !== "object") return false;
  return Object.values(value).some((v) => hasS3Uri(v, depth + 1));
}

function rewrite(value: unknown, buckets: Set<string>, taskId: number, depth = 0): unknown {
  if (typeof value === "string") {
    const match = S3_URI.exec(value);
    if (!match || !buckets.has(match[1] as string)) return value;
    const fileuri = Buffer.from(value, "utf8").toString("base64url");
    return `/api/tasks/${taskId}/resolve/?fileuri=${fileuri}`;
  }
  if (depth > 16 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => rewrite(v, buckets, taskId, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, rewrite(v, buckets, taskId, depth + 1)]),
  );
}

/** The tasks with `s3://` URIs of their project's S3 storages replaced by Taskport URLs. */
export async function resolveStorageUrls<T extends Pick<Task, "id" | "data" | "project">>(
  db: Db,
  items: T[],
): Promise<T[]> {
  const projectIds = [...new Set(items.filter((t) => hasS3Uri(t.data)).map((t) => t.project))];
  if (projectIds.length === 0) return items;
  const storages = await db
    .select({ projectId: importStorages.projectId, bucket: importStorages.bucket })
    .from(importStorages)
    .where(and(inArray(importStorages.projectId, projectIds), eq(importStorages.type, "s3")));
  const byProject = new Map<number, Set<string>>();
  for (const s of storages) {
    if (!s.bucket) continue;
    const set = byProject.get(s.projectId) ?? new Set<string>();
    set.add(s.bucket);
    byProject.set(s.projectId, set);
  }
  return items.map((task) => {
    const buckets = byProject.get(task.project);
    if (!buckets) return task;
    return { ...task, data: rewrite(task.data, buckets, task.id) as Task["data"] };
  });
}

export type Media =
  | { kind: "redirect"; url: string }
  | { kind: "body"; body: NodeJS.ReadableStream; contentType?: string; contentLength?: number };

const MEDIA_NOT_FOUND = "Not found.";

/**
 * What `/api/tasks/{id}/resolve/?fileuri=` answers: the caller must see the task, and the URI
 * must belong to one of its project's S3 storages (nothing else is ever fetched).
 */
export async function openTaskMedia(
  db: Db,
  settings: Pick<SourceOptions, "secretKey" | "network">,
  actor: Actor,
  taskId: number,
  fileuri: string,
): Promise<Media> {
  const uri = Buffer.from(fileuri, "base64url").toString("utf8");
  const match = S3_URI.exec(uri);
  if (!match) throw validationError({ fileuri: ["Expected the base64url of an s3:// URI."] });
  const [, bucket, key] = match as unknown as [string, string, string];
  const [found] = await db
    .select({ storage: importStorages })
    .from(tasks)
    .innerJoin(projects, eq(projects.id, tasks.projectId))
    .innerJoin(
      importStorages,
      and(
        eq(importStorages.projectId, tasks.projectId),
        eq(importStorages.type, "s3"),
        eq(importStorages.bucket, bucket),
      ),
    )
    .where(and(eq(tasks.id, taskId), eq(projects.organizationId, actor.organizationId)))
    .limit(1);
  if (!found) throw notFound(MEDIA_NOT_FOUND);
  const client = s3ClientFor(found.storage, settings.secretKey, settings.network);
  if (found.storage.presign)
    return { kind: "redirect", url: await presignedUrl(client, found.storage, key) };
  const object = await client
    .send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    .catch((error: unknown) => {
      throw error instanceof TargetRefused ? endpointRefused(error) : error;
    });
  if (!object.Body) throw notFound(MEDIA_NOT_FOUND);
  return {
    kind: "body",
    body: object.Body as NodeJS.ReadableStream,
    contentType: object.ContentType,
    contentLength: object.ContentLength,
  };
}

/**
 * `/data/local-files/?d=<path under TASKPORT_LOCAL_FILES_ROOT>`: a file of a local folder storage
 * of the caller's organization (never anything outside those folders).
 */
export async function openLocalFile(
  db: Db,
  localFilesRoot: string | undefined,
  actor: Actor,
  relativePath: string,
): Promise<Media> {
  if (!localFilesRoot) throw notFound(MEDIA_NOT_FOUND);
  const root = await realpath(localFilesRoot);
  let full: string;
  try {
    full = await realpath(resolve(root, relativePath));
  } catch {
    throw notFound(MEDIA_NOT_FOUND);
  }
  if (!full.startsWith(root + sep)) throw notFound(MEDIA_NOT_FOUND);
  const folders = await db
    .select({ path: importStorages.path })
    .from(importStorages)
    .innerJoin(projects, eq(projects.id, importStorages.projectId))
    .where(
      and(eq(importStorages.type, "localfiles"), eq(projects.organizationId, actor.organizationId)),
    );
  let allowed = false;
  for (const { path } of folders) {
    if (!path) continue;
    const folder = await realpath(path).catch(() => null);
    if (folder && full.startsWith(folder + sep)) allowed = true;
  }
  if (!allowed) throw notFound(MEDIA_NOT_FOUND);
  const info = await stat(full);
  if (!info.isFile()) throw notFound(MEDIA_NOT_FOUND);
  return {
    kind: "body",
    body: createReadStream(full),
    contentType: contentTypeOf(full),
    contentLength: info.size,
  };
}

const CONTENT_TYPES: Record<string, string> = {
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".mp4": "video/mp4",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}
