/**
 * POST /api/projects/{id}/import (contract section 4): a JSON array or object, or multipart
 * files (.json, .jsonl, .csv, .tsv, .txt), streamed into services/import.ts without ever
 * holding the body in memory. The body limit is TASKPORT_MAX_IMPORT_BYTES, counted here as
 * the bytes arrive (the server-wide JSON limit does not apply to this route). An
 * Idempotency-Key header makes a retried import answer its first response.
 */
import { createHash, type Hash } from "node:crypto";
import { finished } from "node:stream/promises";
import { IDEMPOTENCY_KEY_HEADER } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { validationError } from "../errors";
import {
  formatOfFileName,
  type ImportFormat,
  readItems,
  unsupportedExtension,
} from "../import-formats";
import { DEFAULT_MAX_IMPORT_BYTES, type ImportSource, importTasks } from "../services/import";
import { ProjectPath } from "./projects";
import { route } from "./route";
import { described, IdempotencyHeaders, ImportResultOut, queryFlag } from "./schemas";

/** One stream of the body: the JSON body itself, or one uploaded file. */
interface BodyPart {
  file?: { name: string; format: ImportFormat };
  format: ImportFormat;
  bytes: AsyncIterable<Buffer>;
  size: () => number;
}

function tooLarge(limit: number): TRPCError {
  return new TRPCError({
    code: "PAYLOAD_TOO_LARGE",
    message: `The import is larger than this server accepts (${limit} bytes, TASKPORT_MAX_IMPORT_BYTES): split it into several requests, or use \`taskport import\`, which sends a large file in chunks.`,
  });
}

/**
 * The parts of the request body, each metered: bytes are counted against the limit (over it,
 * a 413) and, when the request carries an idempotency key, hashed as they pass.
 */
async function* bodyParts(
  request: FastifyRequest,
  limit: number,
  hash: Hash | null,
): AsyncGenerator<BodyPart> {
  let total = 0;
  const meter = (stream: AsyncIterable<Buffer | string>, counter: { n: number }) =>
    (async function* () {
      for await (const raw of stream) {
        const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
        total += chunk.length;
        counter.n += chunk.length;
        if (total > limit) throw tooLarge(limit);
        hash?.update(chunk);
        yield chunk;
      }
    })();

  if (request.isMultipart()) {
    // Past the limit busboy truncates the file; the meter has refused it by then.
    for await (const part of request.parts({ limits: { fileSize: limit + 1, parts: 1000 } })) {
      if (part.type !== "file") continue;
      const format = formatOfFileName(part.filename);
      if (!format) {
        throw validationError({}, [unsupportedExtension(part.filename)]);
      }
      hash?.update(`\0file\0${part.filename}\0`);
      const counter = { n: 0 };
      yield {
        file: { name: part.filename, format },
        format,
        bytes: meter(part.file, counter),
        size: () => counter.n,
      };
      // The next part only arrives once this one has been read to its end.
      await finished(part.file.resume());
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
  const counter = { n: 0 };
  yield {
    format: "json",
    bytes: meter(body as AsyncIterable<Buffer>, counter),
    size: () => counter.n,
  };
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
      commit_to_project: queryFlag(true, "false: validate and count only, write nothing."),
      return_task_ids: queryFlag(false, "true: the answer lists the created tasks' ids."),
    }),
    headers: IdempotencyHeaders,
    streamedBody: {
      schema: described(
        z.union([z.array(ImportItem), ImportItem]),
        "Tasks as {data, annotations?, predictions?, meta?}, or flat objects that are the data; or multipart files.",
      ),
      contentTypes: ["application/json", "multipart/form-data"],
    },
    success: { status: 201, description: "What was imported.", schema: ImportResultOut },
    errors: [400, 401, 404, 413, 415, 422],
    handler: async ({ db, actor, options, params, query, headers, request, reply }) => {
      const limit = options.maxImportBytes ?? DEFAULT_MAX_IMPORT_BYTES;
      const declared = Number(request.headers["content-length"]);
      if (Number.isFinite(declared) && declared > limit) {
        reply.header("connection", "close");
        throw tooLarge(limit);
      }
      const commitToProject = query.commit_to_project;
      const returnTaskIds = query.return_task_ids;
      const key = headers[IDEMPOTENCY_KEY_HEADER];
      // A keyed request is identified by its parameters and the bytes of its body, hashed as
      // they stream past.
      const hash = key === undefined ? null : createHash("sha256");
      hash?.update(JSON.stringify({ project: params.id, commitToProject, returnTaskIds }));
      const parts = bodyParts(request, limit, hash);
      const sources = (async function* (): AsyncGenerator<ImportSource> {
        for await (const part of parts) {
          yield {
            items: readItems(part.bytes, part.format),
            file: part.file && { ...part.file, size: part.size },
          };
        }
      })();
      let digest: string | undefined;
      try {
        return await importTasks(db, actor, {
          project: params.id,
          sources,
          commitToProject,
          returnTaskIds,
          idempotency: {
            key,
            async hash() {
              // Unread when the key is a replay's: read (and hash) the rest of the body.
              for await (const part of parts) for await (const _ of part.bytes);
              digest ??= hash?.digest("hex") ?? "";
              return digest;
            },
          },
        });
      } catch (error) {
        // Past the limit, stop reading: the connection closes after the answer.
        if (error instanceof TRPCError && error.code === "PAYLOAD_TOO_LARGE") {
          reply.header("connection", "close");
        }
        throw error;
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
