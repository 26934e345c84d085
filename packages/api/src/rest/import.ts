/**
 * POST /api/projects/{id}/import (contract section 4): a JSON array or object, or multipart
 * files: task files (.json, .jsonl, .csv, .tsv, .txt) and, as Label Studio takes them, media
 * files (images, audio, video, PDF) and hypertext (.html, .htm, .xml), one task each. Bodies
 * are streamed into services/import.ts without ever being held in memory; files are streamed
 * to the upload folder (services/uploads.ts) and read from there. Task bytes are bounded by
 * TASKPORT_MAX_IMPORT_BYTES, counted as they arrive (the server-wide JSON limit does not
 * apply to this route), each file by TASKPORT_MAX_UPLOAD_BYTES. Every request leaves an
 * import record (services/import-record.ts). An Idempotency-Key header makes a retried
 * import answer its first response.
 */
import { createHash, type Hash } from "node:crypto";
import { finished } from "node:stream/promises";
import { IDEMPOTENCY_KEY_HEADER } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { notFound, validationError } from "../errors";
import { extensionOf, formatOfFileName, readItems, unsupportedExtension } from "../import-formats";
import { withIdempotency } from "../services/idempotency";
import {
  DEFAULT_MAX_IMPORT_BYTES,
  type ImportFile,
  type ImportSource,
  importTasks,
} from "../services/import";
import {
  DEFAULT_ASYNC_IMPORT_BYTES,
  type KeptFile,
  startAsyncImport,
} from "../services/import-job";
import {
  completeImportRecord,
  deleteImportRecord,
  failImportRecord,
  startImportRecord,
} from "../services/import-record";
import { requireJobs } from "../services/job";
import { findProject, PROJECT_NOT_FOUND } from "../services/project";
import { objectTagsOf } from "../services/task";
import {
  HYPERTEXT_EXTENSIONS,
  isImportable,
  newStoredName,
  removeStored,
  saveUpload,
  storedSource,
  type UploadSettings,
  unclaimed,
  variableCount,
} from "../services/uploads";
import { uploadSettings } from "./auth";
import { multipartFailure } from "./body";
import { ProjectPath } from "./projects";
import { route } from "./route";
import {
  described,
  IdempotencyHeaders,
  ImportResultOut,
  queryFlag,
  queryList,
  restSchemas,
} from "./schemas";

/**
 * Label Studio's answer plus `import`, the id of the request's record, which Label Studio's
 * asynchronous editions answer alone: clients poll it at /api/projects/{id}/imports/{import}/.
 */
const ImportAnswer = ImportResultOut.extend({
  import: described(z.number().int(), "The import's record (GET .../imports/{import}/)."),
});
restSchemas.add(ImportAnswer, { id: "ImportAnswer" });

/** An import run as a job (services/import-job.ts): Label Studio's async answer, and the job. */
const AsyncImportAnswer = z.object({
  import: described(z.number().int(), "The import's record, to poll until completed or failed."),
  job: described(z.string(), "The job running it (GET /api/jobs/{job}/, POST .../cancel)."),
});
restSchemas.add(AsyncImportAnswer, { id: "AsyncImportAnswer" });

/** One stream of the body: the JSON body itself, or one uploaded file kept on disk. */
interface BodyPart {
  file?: ImportFile;
  items: AsyncIterable<unknown>;
  /** The body's bytes, for a replay that reads them without importing. */
  bytes?: AsyncIterable<Buffer>;
}

const NO_FILES = "No files found: send the files to import as multipart/form-data.";

function tooLarge(limit: number): TRPCError {
  return new TRPCError({
    code: "PAYLOAD_TOO_LARGE",
    message: `The import is larger than this server accepts (${limit} bytes, TASKPORT_MAX_IMPORT_BYTES): split it into several requests, or use \`taskport import\`, which sends a large file in chunks.`,
  });
}

interface PartContext {
  request: FastifyRequest;
  /** The request's task bytes (bodies and task files): TASKPORT_MAX_IMPORT_BYTES. */
  limit: number;
  uploads: UploadSettings;
  project: { id: number; variables: number };
  hash: Hash | null;
  /** Every file written for this request, for the clean-up. */
  saved: string[];
}

/**
 * The parts of the request body. Task bytes are counted against the import limit (over it, a
 * 413) and, when the request carries an idempotency key, hashed as they pass. Files are
 * written to the upload folder as they arrive (each within TASKPORT_MAX_UPLOAD_BYTES), then
 * read from there: a media file (image, audio, video, PDF) becomes one task pointing to its
 * URL, a hypertext file one task holding its text, a task file its rows.
 */
async function* bodyParts(context: PartContext): AsyncGenerator<BodyPart> {
  const { request, limit, hash, uploads } = context;
  let total = 0;
  const meter = (stream: AsyncIterable<Buffer | string>, counted: boolean) =>
    (async function* () {
      for await (const raw of stream) {
        const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
        if (counted) {
          total += chunk.length;
          if (total > limit) throw tooLarge(limit);
        }
        hash?.update(chunk);
        yield chunk;
      }
    })();

  if (request.isMultipart()) {
    const fileSize = Math.max(limit, uploads.maxFileBytes) + 1;
    try {
      for await (const part of request.parts({ limits: { fileSize, parts: 1000 } })) {
        if (part.type !== "file") continue;
        if (!isImportable(part.filename)) {
          throw validationError({}, [unsupportedExtension(part.filename)]);
        }
        const format = formatOfFileName(part.filename);
        const hypertext = HYPERTEXT_EXTENSIONS.has(extensionOf(part.filename).toLowerCase());
        hash?.update(`\0file\0${part.filename}\0`);
        const stored = newStoredName(context.project.id, part.filename);
        context.saved.push(stored);
        // Task files and hypertext are read whole into tasks: the import limit bounds them.
        const size = await saveUpload(
          uploads,
          stored,
          meter(part.file, format !== null || hypertext),
        );
        const source = storedSource(uploads, stored, context.project.variables);
        yield {
          file: {
            name: part.filename,
            // A media file's one item is read as a JSON item, `{data: {$undefined$: ...}}`.
            format: source.format ?? "json",
            extension: source.extension,
            stored,
            size: () => size,
          },
          items: source.items,
        };
        // The next part only arrives once this one has been read to its end.
        await finished(part.file.resume());
      }
    } catch (error) {
      throw multipartFailure(error);
    }
    return;
  }
  const body = request.body;
  if (body === undefined || body === null) {
    throw validationError({}, [
      "No tasks found: send a JSON array of tasks, a JSON object, or files as multipart/form-data.",
    ]);
  }
  if (typeof (body as AsyncIterable<Buffer>)[Symbol.asyncIterator] !== "function") {
    throw new TRPCError({
      code: "UNSUPPORTED_MEDIA_TYPE",
      message: `Unsupported media type "${request.headers["content-type"] ?? ""}" in request: send application/json or multipart/form-data.`,
    });
  }
  const bytes = meter(body as AsyncIterable<Buffer>, true);
  yield { items: readItems(bytes, "json"), bytes };
}

const ImportItem = z.record(z.string(), z.unknown());

/** The import, at a path of its own. */
const importRoute = (path: string, summary: string) =>
  route({
    method: "POST",
    path,
    summary,
    tag: "Tasks",
    params: ProjectPath,
    query: z.object({
      commit_to_project: queryFlag(
        true,
        "false: validate and count only, create no task; uploaded files are kept as file uploads (GET .../file-uploads) for POST .../reimport.",
      ),
      preannotated_from_fields: queryList(
        "Task data fields whose values become each task's predictions (`a,b` or repeated).",
      ),
      return_task_ids: queryFlag(false, "true: the answer lists the created tasks' ids."),
      async: queryFlag(
        false,
        "true: files are imported by a job; the answer names the import record to poll. Files larger in all than TASKPORT_ASYNC_IMPORT_BYTES always are.",
      ),
    }),
    headers: IdempotencyHeaders,
    streamedBody: {
      schema: described(
        z.union([z.array(ImportItem), ImportItem]),
        "Tasks as {data, annotations?, predictions?, meta?}, or flat objects that are the data; or multipart files.",
      ),
      contentTypes: ["application/json", "multipart/form-data"],
    },
    success: {
      status: 201,
      description: "What was imported, or (files imported by a job) the import record to poll.",
      schema: z.union([ImportAnswer, AsyncImportAnswer]),
    },
    errors: [400, 401, 404, 413, 415, 422, 503, 507],
    handler: async ({ db, actor, options, params, query, headers, request }) => {
      const limit = options.maxImportBytes ?? DEFAULT_MAX_IMPORT_BYTES;
      const declared = Number(request.headers["content-length"]);
      // Multipart bodies may carry media files far larger: each part is metered instead.
      if (!request.isMultipart() && Number.isFinite(declared) && declared > limit) {
        throw tooLarge(limit);
      }
      const project = await findProject(db, actor, params.id);
      if (!project) throw notFound(PROJECT_NOT_FOUND);
      const commitToProject = query.commit_to_project;
      const returnTaskIds = query.return_task_ids;
      const preannotatedFromFields = query.preannotated_from_fields;
      const key = headers[IDEMPOTENCY_KEY_HEADER];
      // A keyed request is identified by its parameters and the bytes of its body, hashed as
      // they stream past.
      const hash = key === undefined ? null : createHash("sha256");
      hash?.update(
        JSON.stringify({
          project: params.id,
          commitToProject,
          returnTaskIds,
          preannotatedFromFields,
        }),
      );
      const uploads = uploadSettings(options);
      const saved: string[] = [];
      const parts = bodyParts({
        request,
        limit,
        hash,
        uploads,
        project: { id: project.id, variables: variableCount(objectTagsOf(project.labelConfig)) },
        saved,
      });
      // Files of more than TASKPORT_ASYNC_IMPORT_BYTES, or asked to: kept, then imported by a job.
      const threshold = options.asyncImportBytes ?? DEFAULT_ASYNC_IMPORT_BYTES;
      if (
        request.isMultipart() &&
        (query.async || (options.jobs && Number.isFinite(declared) && declared > threshold))
      ) {
        const system = requireJobs(options.jobs);
        try {
          const files: KeptFile[] = [];
          for await (const part of parts) {
            const file = part.file;
            if (!file?.stored) continue;
            files.push({
              name: file.name,
              stored: file.stored,
              extension: file.extension ?? `.${file.format}`,
              size: file.size?.() ?? 0,
            });
          }
          if (files.length === 0) throw validationError({}, [NO_FILES]);
          let digest: string | undefined;
          return await withIdempotency(
            db,
            actor,
            "task.import",
            { key, hash: () => (digest ??= hash?.digest("hex") ?? "") },
            (tx) =>
              startAsyncImport(tx, system, actor, {
                project: project.id,
                commitToProject,
                returnTaskIds,
                preannotatedFromFields,
                files,
              }),
          );
        } finally {
          // Files no upload row kept (a refused request, a replay) leave the disk.
          await removeStored(uploads, await unclaimed(db, saved).catch(() => saved));
        }
      }
      const sources = (async function* (): AsyncGenerator<ImportSource> {
        for await (const part of parts) yield { items: part.items, file: part.file };
      })();
      const record = await startImportRecord(db, actor, {
        project: project.id,
        commitToProject,
        returnTaskIds,
        preannotatedFromFields,
      });
      let digest: string | undefined;
      try {
        const result = await importTasks(db, actor, {
          project: params.id,
          sources,
          commitToProject,
          returnTaskIds,
          preannotatedFromFields,
          record,
          idempotency: {
            key,
            async hash() {
              // Unread when the key is a replay's: read (and hash) the rest of the body.
              // Files were written (and hashed) as their parts were reached.
              for await (const part of parts) if (part.bytes) for await (const _ of part.bytes);
              digest ??= hash?.digest("hex") ?? "";
              return digest;
            },
          },
        });
        if (result.import !== record) {
          // A replay: the first request's record answers for it, this one goes.
          await deleteImportRecord(db, record);
          return { ...result, import: result.import ?? record };
        }
        await completeImportRecord(db, record, result);
        return { ...result, import: record };
      } catch (error) {
        await failImportRecord(db, record, error).catch(() => {});
        throw error;
      } finally {
        // Files no upload row kept (a failed import, a replay) leave the disk.
        await removeStored(uploads, await unclaimed(db, saved).catch(() => saved));
      }
    },
  });

export const importRoutes = [
  importRoute(
    "/api/projects/{id}/import",
    "Import tasks: a JSON array or object, or files (.json, .jsonl, .csv, .tsv, .txt)",
  ),
  importRoute(
    "/api/projects/{id}/tasks/bulk/",
    "Import tasks (Label Studio's older name of /import)",
  ),
];
