/**
 * Label Studio's endpoints around uploaded files and import records: the project's file
 * uploads (list, delete), one upload (get, replace its file by PUT or PATCH, delete), an
 * import's record, and the files themselves at `/data/upload/{project}/{file}` (ranges for
 * audio and video; never run as a page of Taskport's origin).
 */
import { createReadStream } from "node:fs";
import { finished } from "node:stream/promises";
import { FileUpload, ProjectImport } from "@taskport/schema";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { validationError } from "../errors";
import { unsupportedExtension } from "../import-formats";
import { getImportRecord, IMPORT_NOT_FOUND } from "../services/import-record";
import { reimportUploads, reimportZeros } from "../services/reimport";
import {
  contentTypeOf,
  deleteFileUpload,
  deleteFileUploads,
  FILE_UPLOAD_NOT_FOUND,
  getFileUpload,
  isActiveContent,
  isImportable,
  listFileUploads,
  newStoredName,
  openUpload,
  type ReceivedFile,
  removeStored,
  replaceFileUpload,
  type StoredFile,
  saveUpload,
  type UploadSettings,
} from "../services/uploads";
import { uploadSettings } from "./auth";
import { multipartFailure } from "./body";
import { ProjectPath } from "./projects";
import { type RestRoute, route } from "./route";
import { described, pathId, queryFlag, restSchemas } from "./schemas";

function named<T extends z.ZodType>(id: string, schema: T): T {
  restSchemas.add(schema, { id });
  return schema;
}

const FileUploadOut = named("FileUpload", FileUpload);
const ProjectImportOut = named("ProjectImport", ProjectImport);

const UploadPath = z.object({ id: pathId("file upload", FILE_UPLOAD_NOT_FOUND) });

/** `ids` as Label Studio's UI sends it (`[1,2]`), or as the SDKs do (`ids=1&ids=2`, `1,2`). */
const IdsQuery = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((raw, ctx) => {
    const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
      .flatMap((value) => value.replace(/^\s*\[|\]\s*$/g, "").split(","))
      .map((value) => value.trim())
      .filter(Boolean);
    if (values.some((value) => !/^\d{1,15}$/.test(value))) {
      ctx.issues.push({ code: "custom", message: "A list of integers is required.", input: raw });
      return z.NEVER;
    }
    return values.map(Number);
  });

const DeleteUploadsBody = z
  .object({
    file_upload_ids: described(
      z.array(z.number().int()).optional(),
      "The uploads to delete; all of the project's when absent.",
    ),
  })
  .optional();

const FileUploadUpdateBody = named(
  "FileUploadUpdate",
  z.object({
    file: described(
      z.string().optional(),
      "The new file, as a multipart/form-data file part (a file Taskport imports); none: nothing changes.",
    ),
  }),
);

const FileUploadReplaceBody = named(
  "FileUploadReplace",
  z.object({
    file: described(
      z.string(),
      "The new file, as a multipart/form-data file part (a file Taskport imports).",
    ),
  }),
);

// Django REST framework's FileField messages, which scripts written for Label Studio may match.
const NO_FILE = "No file was submitted.";
const NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form.";
const EMPTY_FILE = "The submitted file is empty.";
const NO_FILE_NAME = "No filename could be determined.";

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "list";
  if (typeof value === "string") return "str";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "boolean") return "bool";
  return typeof value;
}

/**
 * The file a PUT or PATCH sends as DRF's FileField reads it: the last multipart file part
 * named `file`, written to the project's upload folder as it arrives (within
 * TASKPORT_MAX_UPLOAD_BYTES) and refused unless it is a non-empty file of a kind Taskport
 * imports; other parts are read and dropped. A JSON or form body carries no file: `file` in it
 * is refused. No file at all changes nothing in a partial update (PATCH) and is refused in a
 * full one (PUT), as DRF's required field. Whatever is refused leaves nothing on disk.
 */
async function receivedFile(
  request: FastifyRequest,
  body: unknown,
  settings: UploadSettings,
  projectId: number,
  partial: boolean,
): Promise<ReceivedFile | null> {
  const none = () => {
    if (partial) return null;
    throw validationError({ file: [NO_FILE] });
  };
  if (!request.isMultipart()) {
    if (body === undefined || body === null) return none();
    if (typeof body !== "object" || Array.isArray(body)) {
      throw validationError({}, [`Invalid data. Expected a dictionary, but got ${kindOf(body)}.`]);
    }
    if (!("file" in body)) return none();
    const value = (body as { file?: unknown }).file;
    throw validationError({ file: [value === null ? "This field may not be null." : NOT_A_FILE] });
  }
  let kept: ReceivedFile | null = null;
  let textField = false;
  try {
    for await (const part of request.parts({
      limits: { fileSize: settings.maxFileBytes + 1, parts: 1000 },
    })) {
      if (part.fieldname !== "file") {
        if (part.type === "file") await finished(part.file.resume());
        continue;
      }
      if (part.type !== "file") {
        textField = true;
        continue;
      }
      if (!part.filename) throw validationError({ file: [NO_FILE_NAME] });
      if (!isImportable(part.filename)) {
        throw validationError({ file: [unsupportedExtension(part.filename)] });
      }
      if (kept) await removeStored(settings, [kept.stored]);
      kept = { stored: newStoredName(projectId, part.filename), name: part.filename, size: 0 };
      kept.size = await saveUpload(settings, kept.stored, part.file);
    }
    if (!kept && textField) throw validationError({ file: [NOT_A_FILE] });
    if (kept?.size === 0) throw validationError({ file: [EMPTY_FILE] });
  } catch (error) {
    if (kept) await removeStored(settings, [kept.stored]);
    throw multipartFailure(error);
  }
  return kept ?? none();
}

/**
 * Label Studio's FileUploadAPI is DRF's RetrieveUpdateDestroyAPIView: PATCH and PUT replace the
 * upload's file alike, and differ only in a request without one (PUT, a full update, needs it).
 */
function replaceFileRoute(method: "PUT" | "PATCH"): RestRoute {
  const partial = method === "PATCH";
  return route({
    method,
    path: "/api/import/file-upload/{id}",
    summary: partial
      ? "Replace an upload's file with the one sent (multipart `file`; none: nothing changes); its tasks stay until a re-import"
      : "Replace an upload's file with the one sent (multipart `file`, required); its tasks stay until a re-import",
    tag: "Import",
    params: UploadPath,
    acceptedBody: partial ? FileUploadUpdateBody : FileUploadReplaceBody,
    consumes: ["multipart/form-data", "application/json", "application/x-www-form-urlencoded"],
    success: {
      status: 200,
      description: "The upload, naming its new file.",
      schema: FileUploadOut,
    },
    errors: [400, 401, 404, 413, 415, 507],
    handler: ({ db, actor, params, body, request, options }) => {
      const settings = uploadSettings(options);
      return replaceFileUpload(db, settings, actor, params.id, (projectId) =>
        receivedFile(request, body, settings, projectId, partial),
      );
    },
  });
}

type Range = { start: number; end: number } | "unsatisfiable" | null;

/** One `bytes=` range of a file of `size` bytes; several ranges are served as the whole file. */
export function parseRange(header: string | undefined, size: number): Range {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match) return null;
  const [, from = "", to = ""] = match;
  if (from === "" && to === "") return null;
  if (from === "") {
    const suffix = Number(to);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}

/**
 * Serves a stored file. Whatever it holds, the browser is told its type (`nosniff`) and runs
 * nothing from it: a sandboxing CSP, and SVG or HTML only as a download.
 */
async function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: StoredFile,
): Promise<FastifyReply> {
  const disposition = isActiveContent(file.extension) ? "attachment" : "inline";
  reply
    .header("content-type", contentTypeOf(file.extension))
    .header("x-content-type-options", "nosniff")
    .header("content-security-policy", "default-src 'none'; sandbox")
    .header(
      "content-disposition",
      `${disposition}; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    )
    .header("accept-ranges", "bytes")
    .header("cache-control", "private, max-age=60");
  const range = parseRange(request.headers.range, file.size);
  if (range === "unsatisfiable") {
    return reply.code(416).header("content-range", `bytes */${file.size}`).send();
  }
  const { start, end } = range ?? { start: 0, end: file.size - 1 };
  if (range) reply.code(206).header("content-range", `bytes ${start}-${end}/${file.size}`);
  reply.header("content-length", Math.max(0, end - start + 1));
  if (file.size === 0) return reply.send();
  reply.send(createReadStream(file.path, { start, end }));
  // The reply resolves once the whole body is written.
  await reply;
  return reply;
}

const UploadedFilePath = z.object({
  project: described(z.string(), "The project's id."),
  file: described(z.string(), "The stored file's name (`{8 hex}-{name}`)."),
});

const ReimportBody = z.object({
  file_upload_ids: described(
    z.array(z.number().int().positive()).optional(),
    "The uploads whose tasks are read again from their files (replacing their tasks).",
  ),
  files_as_tasks_list: described(
    z.boolean().default(true),
    "false: a CSV, TSV or TXT file is one task (its URL), like a media file.",
  ),
});

const ReimportAnswer = named(
  "ReimportResult",
  z.object({
    task_count: z.number().int(),
    annotation_count: z.number().int(),
    prediction_count: z.number().int(),
    duration: z.number(),
    file_upload_ids: z.array(z.number().int()),
    found_formats: described(
      z.record(z.string(), z.number().int()),
      'How many of the files read have each extension: `{".csv": 2}`.',
    ),
    data_columns: z.array(z.string()),
  }),
);

export const uploadRoutes: RestRoute[] = [
  route({
    method: "POST",
    path: "/api/projects/{id}/reimport",
    summary: "Re-import uploads: their tasks read again from their files, replacing the old ones",
    tag: "Import",
    params: ProjectPath,
    body: ReimportBody,
    forms: { json: ["file_upload_ids"], boolean: ["files_as_tasks_list"] },
    success: { status: 201, description: "What was imported.", schema: ReimportAnswer },
    also: [
      {
        status: 200,
        description: "No `file_upload_ids`: nothing to do (Label Studio's zeros).",
        schema: ReimportAnswer,
      },
    ],
    errors: [400, 401, 404, 415],
    handler: async ({ db, actor, params, body, options, reply }) => {
      const ids = body.file_upload_ids ?? [];
      if (ids.length === 0) {
        return reply.code(200).send(reimportZeros([]));
      }
      return reimportUploads(db, uploadSettings(options), actor, {
        project: params.id,
        fileUploadIds: ids,
        filesAsTasksList: body.files_as_tasks_list,
      });
    },
  }),
  route({
    method: "GET",
    path: "/api/projects/{id}/file-uploads",
    summary:
      "Your uploads of a project: those named by `ids`, or all with `all=true` (or while the project is a draft)",
    tag: "Import",
    params: ProjectPath,
    query: z.looseObject({
      all: queryFlag(false, "true: every upload of yours in the project."),
      ids: described(IdsQuery, "Upload ids: `[1,2]`, `1,2` or repeated."),
    }),
    success: { status: 200, description: "The uploads.", schema: z.array(FileUploadOut) },
    errors: [400, 401, 404],
    handler: ({ db, actor, params, query }) =>
      listFileUploads(db, actor, params.id, { all: query.all, ids: query.ids }),
  }),
  route({
    method: "DELETE",
    path: "/api/projects/{id}/file-uploads",
    summary: "Delete a project's uploads (`file_upload_ids`, or all) and their files",
    tag: "Import",
    params: ProjectPath,
    acceptedBody: DeleteUploadsBody,
    success: {
      status: 200,
      description: "How many uploads were deleted; their tasks stay.",
      schema: z.object({ deleted: z.number().int() }),
    },
    errors: [400, 401, 404],
    handler: async ({ db, actor, params, body, options }) => {
      const parsed = DeleteUploadsBody.safeParse(body ?? undefined);
      if (!parsed.success) {
        throw validationError({
          file_upload_ids: ['"file_upload_ids" parameter must be a list of integers'],
        });
      }
      const ids = parsed.data?.file_upload_ids;
      const deleted = await deleteFileUploads(db, uploadSettings(options), actor, params.id, ids);
      return { deleted };
    },
  }),
  route({
    method: "GET",
    path: "/api/import/file-upload/{id}",
    summary: "An upload",
    tag: "Import",
    params: UploadPath,
    success: { status: 200, description: "The upload.", schema: FileUploadOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getFileUpload(db, actor, params.id),
  }),
  replaceFileRoute("PUT"),
  replaceFileRoute("PATCH"),
  route({
    method: "DELETE",
    path: "/api/import/file-upload/{id}",
    summary: "Delete an upload and its file (its tasks stay)",
    tag: "Import",
    params: UploadPath,
    success: { status: 204, description: "Deleted." },
    errors: [401, 404],
    handler: async ({ db, actor, params, options }) => {
      await deleteFileUpload(db, uploadSettings(options), actor, params.id);
      return undefined;
    },
  }),
  route({
    method: "GET",
    path: "/api/projects/{id}/imports/{import_pk}/",
    summary: "An import's record: its status, counts, uploads and errors",
    tag: "Import",
    params: ProjectPath.extend({ import_pk: pathId("import", IMPORT_NOT_FOUND) }),
    success: { status: 200, description: "The import.", schema: ProjectImportOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getImportRecord(db, actor, params.id, params.import_pk),
  }),
  route({
    method: "GET",
    path: "/data/upload/{project}/{file}",
    summary: "An uploaded file (its tasks' URL), for members of the project's organization",
    tag: "Import",
    params: UploadedFilePath,
    success: { status: 200, description: "The file's bytes; 206 for a range." },
    errors: [401, 404],
    handler: async ({ db, actor, params, request, reply, options }) =>
      sendFile(
        request,
        reply,
        await openUpload(db, uploadSettings(options), actor, params.project, params.file),
      ),
  }),
  route({
    method: "GET",
    path: "/data/upload/{project}",
    summary: "An uploaded file named `{project}/{file}` in one segment (the SDK's files.download)",
    tag: "Import",
    // Named as the two-segment route's first parameter: both share the router's node.
    params: z.object({ project: described(z.string(), "`{project}/{file}`, encoded.") }),
    success: { status: 200, description: "The file's bytes; 206 for a range." },
    errors: [401, 404],
    handler: async ({ db, actor, params, request, reply, options }) => {
      const [project = "", file = "", ...rest] = params.project.split("/");
      return sendFile(
        request,
        reply,
        await openUpload(db, uploadSettings(options), actor, project, rest.length > 0 ? "" : file),
      );
    },
  }),
];
