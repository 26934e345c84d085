/**
 * Uploaded files (Label Studio's FileUpload). Every file an import receives is kept on disk
 * under the media folder as `upload/{project}/{8 hex}-{name}`, Label Studio's layout, so that
 * media tasks can point to `/data/upload/...` and a re-import can read a file again. Files are
 * streamed in and out (memory stays flat whatever their size), served only to the project's
 * organization, and removed with their rows; a sweep removes files no row names (a process
 * that died mid-upload, a deleted project) and uploads no task uses any more.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { type FileUpload, UNDEFINED_DATA_KEY } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, asc, eq, exists, inArray, lt, not, sql } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { fileUploads, projects, tasks } from "../db/schema";
import { notFound, validationError } from "../errors";
import { extensionOf, formatOfFileName, type ImportFormat, readItems } from "../import-formats";
import { findProject, PROJECT_NOT_FOUND } from "./project";

/** TASKPORT_MAX_UPLOAD_BYTES's default: the largest single uploaded file (5 GiB). */
export const DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
export const FILE_UPLOAD_NOT_FOUND = "No FileUpload matches the given query.";
/** Label Studio's folder of uploads under the media folder (its UPLOAD_DIR). */
const UPLOAD_DIR = "upload";
/** Files without a row younger than this may still be arriving: the sweep leaves them. */
const ORPHAN_GRACE_MS = 60 * 60 * 1000;
/** Uploads without tasks younger than this may await a re-import: the sweep leaves them. */
const UNUSED_GRACE_MS = 24 * 60 * 60 * 1000;

export interface UploadSettings {
  /** The media folder (TASKPORT_MEDIA_DIR); uploads live in its `upload/` folder. */
  mediaDir: string;
  /** The largest single file (TASKPORT_MAX_UPLOAD_BYTES). */
  maxFileBytes: number;
}

/**
 * Content types of the files Label Studio imports as one task each (its SUPPORTED_EXTENSIONS
 * less the task formats), as Python's mimetypes names them.
 */
export const ASSET_TYPES: Readonly<Record<string, string>> = {
  ".bmp": "image/bmp",
  ".gif": "image/gif",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".webp": "image/webp",
  ".flac": "audio/flac",
  ".m4a": "audio/mp4",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
  ".wav": "audio/x-wav",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".pdf": "application/pdf",
  ".html": "text/html",
  ".htm": "text/html",
  ".xml": "text/xml",
};

/** Types of the task files, for serving them back. */
const TASK_FILE_TYPES: Readonly<Record<string, string>> = {
  ".json": "application/json",
  ".jsonl": "application/x-ndjson",
  ".ndjson": "application/x-ndjson",
  ".csv": "text/csv",
  ".tsv": "text/tab-separated-values",
  ".txt": "text/plain",
};

/** Label Studio reads these whole, as the task's text, rather than linking to them. */
export const HYPERTEXT_EXTENSIONS: ReadonlySet<string> = new Set([".html", ".htm", ".xml"]);

/** Files a browser could run as a page of Taskport's origin: only ever downloaded. */
const ACTIVE_EXTENSIONS: ReadonlySet<string> = new Set([".html", ".htm", ".xml", ".svg"]);

export function contentTypeOf(extension: string): string {
  const ext = extension.toLowerCase();
  return ASSET_TYPES[ext] ?? TASK_FILE_TYPES[ext] ?? "application/octet-stream";
}

export function isActiveContent(extension: string): boolean {
  return ACTIVE_EXTENSIONS.has(extension.toLowerCase());
}

/**
 * A file name safe on any file system and in a URL path segment, as Django's
 * get_valid_filename makes it: spaces become `_`, anything but letters, digits, `-`, `_` and
 * `.` is dropped.
 */
export function safeFileName(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const clean = base
    .trim()
    .replace(/\s+/g, "_")
    .replace(/[^\p{L}\p{N}_.-]/gu, "")
    .slice(-180);
  return clean === "" || /^\.+$/.test(clean) ? "file" : clean;
}

/** The upload settings, defaulted: a folder under the system's temporary one, 5 GiB a file. */
export function uploadSettingsOf(settings: Partial<UploadSettings> = {}): UploadSettings {
  return {
    mediaDir: settings.mediaDir ?? join(tmpdir(), "taskport-media"),
    maxFileBytes: settings.maxFileBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
  };
}

/** Where a new upload of `name` in `project` is kept: `upload/{project}/{8 hex}-{name}`. */
export function newStoredName(project: number, name: string): string {
  return `${UPLOAD_DIR}/${project}/${randomBytes(4).toString("hex")}-${safeFileName(name)}`;
}

/** The URL a task's data holds for a stored file: Label Studio's `/data/upload/...`. */
export function uploadUrl(stored: string): string {
  return `/data/${stored.split("/").map(encodeURIComponent).join("/")}`;
}

/** The file's path on disk; refuses any name that would leave the upload folder. */
export function diskPath(settings: UploadSettings, stored: string): string {
  const root = resolve(settings.mediaDir, UPLOAD_DIR);
  const path = resolve(settings.mediaDir, stored);
  if (!path.startsWith(root + sep)) throw notFound(FILE_UPLOAD_NOT_FOUND);
  return path;
}

const DIRECT_UPLOAD_ONE_KEY =
  "Your label config has more than one data key and direct file upload supports only one data key. To import data with multiple data keys, use a JSON or CSV file.";

export interface StoredSource {
  /** The task format its rows are read as; null for a file that is one task. */
  format: ImportFormat | null;
  /** `found_formats`'s extension. */
  extension: string;
  items: AsyncIterable<unknown>;
}

/**
 * The tasks of a stored file, as Label Studio reads an upload: a task file's rows (unless
 * `filesAsTasksList` is off, then a table or text file is one task like a media file), a
 * hypertext file's text as one task, any other file's URL as one task, which needs a label
 * config with at most one data key (`variables`).
 */
export function storedSource(
  settings: UploadSettings,
  stored: string,
  variables: number,
  filesAsTasksList = true,
): StoredSource {
  const extension = extensionOf(stored).toLowerCase();
  const path = diskPath(settings, stored);
  const format = formatOfFileName(stored);
  const asRows = format !== null && (filesAsTasksList || format === "json" || format === "jsonl");
  if (format && asRows) {
    return { format, extension, items: readItems(createReadStream(path), format) };
  }
  if (variables > 1) {
    throw validationError({}, [
      `Failed to parse input file ${basename(stored)}: ${DIRECT_UPLOAD_ONE_KEY}`,
    ]);
  }
  const hypertext = HYPERTEXT_EXTENSIONS.has(extension);
  const items = (async function* () {
    const value = hypertext ? await readFile(path, "utf8") : uploadUrl(stored);
    yield { data: { [UNDEFINED_DATA_KEY]: value } };
  })();
  return { format: null, extension, items };
}

/** Whether Taskport keeps and imports a file of this name (task file or media). */
export function isImportable(name: string): boolean {
  return formatOfFileName(name) !== null || extensionOf(name).toLowerCase() in ASSET_TYPES;
}

/** How many distinct data variables a label config's object tags read. */
export function variableCount(objectTags: readonly { variable?: string | null }[]): number {
  return new Set(objectTags.flatMap((tag) => (tag.variable ? [tag.variable.split(".")[0]] : [])))
    .size;
}

function tooLarge(limit: number): TRPCError {
  return new TRPCError({
    code: "PAYLOAD_TOO_LARGE",
    message: `A file is larger than this server accepts (${limit} bytes, TASKPORT_MAX_UPLOAD_BYTES).`,
  });
}

/**
 * Writes `bytes` to the stored name, refusing past `limit` bytes (413). Whatever goes wrong,
 * nothing is left on disk. Answers the size written.
 */
export async function saveUpload(
  settings: UploadSettings,
  stored: string,
  bytes: AsyncIterable<Buffer>,
  limit = settings.maxFileBytes,
): Promise<number> {
  const path = diskPath(settings, stored);
  await mkdir(dirname(path), { recursive: true });
  let size = 0;
  const metered = (async function* () {
    for await (const chunk of bytes) {
      size += chunk.length;
      if (size > limit) throw tooLarge(limit);
      yield chunk;
    }
  })();
  try {
    await pipeline(metered, createWriteStream(path, { flags: "wx" }));
  } catch (error) {
    await unlink(path).catch(() => {});
    throw error;
  }
  return size;
}

/** Removes stored files; a file already gone is fine. */
export async function removeStored(settings: UploadSettings, stored: readonly string[]) {
  for (const name of stored) await unlink(diskPath(settings, name)).catch(() => {});
}

/** Of `stored`, the names no row holds (an import that failed or wrote nothing). */
export async function unclaimed(db: Db, stored: readonly string[]): Promise<string[]> {
  if (stored.length === 0) return [];
  const rows = await db
    .select({ file: fileUploads.file })
    .from(fileUploads)
    .where(inArray(fileUploads.file, [...stored]));
  const claimed = new Set(rows.map((row) => row.file));
  return stored.filter((name) => !claimed.has(name));
}

type UploadRow = { id: number; file: string | null; fileName: string; size: number };

function toFileUpload(row: UploadRow): FileUpload {
  return { id: row.id, file: row.file ?? row.fileName, size: row.size };
}

const uploadColumns = {
  id: fileUploads.id,
  file: fileUploads.file,
  fileName: fileUploads.fileName,
  size: fileUploads.size,
};

async function projectOf(db: Db, actor: Actor, id: number) {
  const project = await findProject(db, actor, id);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  return project;
}

/**
 * `GET /api/projects/{id}/file-uploads`, as Label Studio answers it: the caller's uploads of
 * the project named by `ids`, or all of them with `all` or while the project is a draft.
 */
export async function listFileUploads(
  db: Db,
  actor: Actor,
  projectId: number,
  query: { all: boolean; ids: number[] },
): Promise<FileUpload[]> {
  const project = await projectOf(db, actor, projectId);
  const everything = query.all || project.isDraft;
  if (!everything && query.ids.length === 0) return [];
  const rows = await db
    .select(uploadColumns)
    .from(fileUploads)
    .where(
      and(
        eq(fileUploads.projectId, project.id),
        eq(fileUploads.createdBy, actor.userId),
        everything ? undefined : inArray(fileUploads.id, query.ids),
      ),
    )
    .orderBy(asc(fileUploads.id));
  return rows.map(toFileUpload);
}

async function uploadInOrganization(db: Db, actor: Actor, id: number) {
  const [row] = await db
    .select({ ...uploadColumns, projectId: fileUploads.projectId })
    .from(fileUploads)
    .innerJoin(projects, eq(projects.id, fileUploads.projectId))
    .where(and(eq(fileUploads.id, id), eq(projects.organizationId, actor.organizationId)));
  if (!row) throw notFound(FILE_UPLOAD_NOT_FOUND);
  return row;
}

/** `GET /api/import/file-upload/{id}`: an upload of the caller's organization. */
export async function getFileUpload(db: Db, actor: Actor, id: number): Promise<FileUpload> {
  return toFileUpload(await uploadInOrganization(db, actor, id));
}

/**
 * Deletes uploads of a project (`ids`, or every one), then their files. Their tasks stay,
 * as in Label Studio (they no longer name an upload). Answers how many were deleted.
 */
export async function deleteFileUploads(
  db: Db,
  settings: UploadSettings,
  actor: Actor,
  projectId: number,
  ids: number[] | undefined,
): Promise<number> {
  const project = await projectOf(db, actor, projectId);
  const deleted = await db
    .delete(fileUploads)
    .where(
      and(
        eq(fileUploads.projectId, project.id),
        ids === undefined ? undefined : inArray(fileUploads.id, ids),
      ),
    )
    .returning({ file: fileUploads.file });
  await removeStored(
    settings,
    deleted.flatMap((row) => (row.file ? [row.file] : [])),
  );
  return deleted.length;
}

/** `DELETE /api/import/file-upload/{id}`. */
export async function deleteFileUpload(
  db: Db,
  settings: UploadSettings,
  actor: Actor,
  id: number,
): Promise<void> {
  const row = await uploadInOrganization(db, actor, id);
  await db.delete(fileUploads).where(eq(fileUploads.id, row.id));
  if (row.file) await removeStored(settings, [row.file]);
}

/** A file a request sent, already written under its stored name. */
export interface ReceivedFile {
  stored: string;
  /** The name it was sent with. */
  name: string;
  size: number;
}

/**
 * `PATCH /api/import/file-upload/{id}` (Label Studio's FileUploadAPI): an upload of the
 * caller's organization takes the file that `receive` writes for its project (none: nothing
 * changes), and its old file goes. The upload is looked up first (404) and the body read after,
 * as Label Studio does. Its tasks stay as they are until a re-import reads the new file; a
 * media task's URL names the old file, which is no longer served.
 */
export async function replaceFileUpload(
  db: Db,
  settings: UploadSettings,
  actor: Actor,
  id: number,
  receive: (projectId: number) => Promise<ReceivedFile | null>,
): Promise<FileUpload> {
  const row = await uploadInOrganization(db, actor, id);
  const received = await receive(row.projectId);
  if (!received) return toFileUpload(row);
  let replaced: string | null;
  try {
    replaced = await db.transaction(async (tx) => {
      // The row lock orders replacements of one upload: each removes the file it replaced.
      const [current] = await tx
        .select({ file: fileUploads.file })
        .from(fileUploads)
        .where(eq(fileUploads.id, row.id))
        .for("update");
      if (!current) throw notFound(FILE_UPLOAD_NOT_FOUND);
      await tx
        .update(fileUploads)
        .set({
          file: received.stored,
          fileName: received.name,
          format: extensionOf(received.stored).toLowerCase(),
          size: received.size,
        })
        .where(eq(fileUploads.id, row.id));
      return current.file;
    });
  } catch (error) {
    await removeStored(settings, [received.stored]);
    throw error;
  }
  if (replaced) await removeStored(settings, [replaced]);
  return { id: row.id, file: received.stored, size: received.size };
}

export interface StoredFile {
  path: string;
  size: number;
  name: string;
  extension: string;
}

/**
 * The file `upload/{project}/{name}` for the caller: 404 unless its row exists in a project of
 * the caller's organization (another organization's file is as unknown as a missing one).
 */
export async function openUpload(
  db: Db,
  settings: UploadSettings,
  actor: Actor,
  project: string,
  name: string,
): Promise<StoredFile> {
  // Names are ours (newStoredName): anything else, traversal included, is simply not found.
  if (!/^\d{1,10}$/.test(project) || !/^[0-9a-f]{8}-[\p{L}\p{N}_.-]+$/u.test(name)) {
    throw notFound(FILE_UPLOAD_NOT_FOUND);
  }
  const stored = `${UPLOAD_DIR}/${project}/${name}`;
  const [row] = await db
    .select({ file: fileUploads.file, fileName: fileUploads.fileName })
    .from(fileUploads)
    .innerJoin(projects, eq(projects.id, fileUploads.projectId))
    .where(
      and(
        eq(fileUploads.file, stored),
        eq(fileUploads.projectId, Number(project)),
        eq(projects.organizationId, actor.organizationId),
      ),
    );
  if (!row) throw notFound(FILE_UPLOAD_NOT_FOUND);
  const path = diskPath(settings, stored);
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) throw notFound(FILE_UPLOAD_NOT_FOUND);
  const dot = name.lastIndexOf(".");
  return {
    path,
    size: info.size,
    name: name.slice(9),
    extension: dot > 9 ? name.slice(dot) : "",
  };
}

/**
 * Removes uploads no task uses any more (their tasks were deleted) once past the grace that
 * a later re-import may need, and files on disk that no row names (a deleted project's, or a
 * process's that died mid-upload). Answers how many files were removed.
 */
export async function sweepUploads(
  db: Db,
  settings: UploadSettings,
  now = Date.now(),
): Promise<number> {
  const unused = await db
    .delete(fileUploads)
    .where(
      and(
        lt(fileUploads.createdAt, new Date(now - UNUSED_GRACE_MS)),
        not(
          exists(
            db.select({ one: sql`1` }).from(tasks).where(eq(tasks.fileUploadId, fileUploads.id)),
          ),
        ),
      ),
    )
    .returning({ file: fileUploads.file });
  const stale = unused.flatMap((row) => (row.file ? [row.file] : []));
  await removeStored(settings, stale);
  let removed = stale.length;

  const root = join(settings.mediaDir, UPLOAD_DIR);
  const folders = await readdir(root).catch(() => [] as string[]);
  for (const folder of folders) {
    if (!/^\d+$/.test(folder)) continue;
    const names = await readdir(join(root, folder)).catch(() => [] as string[]);
    const candidates: string[] = [];
    for (const name of names) {
      const info = await stat(join(root, folder, name)).catch(() => null);
      if (info?.isFile() && info.mtimeMs < now - ORPHAN_GRACE_MS) {
        candidates.push(`${UPLOAD_DIR}/${folder}/${name}`);
      }
    }
    for (let i = 0; i < candidates.length; i += 1000) {
      const orphans = await unclaimed(db, candidates.slice(i, i + 1000));
      await removeStored(settings, orphans);
      removed += orphans.length;
    }
  }
  return removed;
}
