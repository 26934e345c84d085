/**
 * POST /api/projects/{id}/import (contract section 4): a JSON array or object, or multipart
 * files (.json, .jsonl, .csv, .tsv, .txt), streamed into services/import.ts without ever
 * holding the body in memory. The body limit is TASKPORT_MAX_IMPORT_BYTES, counted here as
 * the bytes arrive (the server-wide JSON limit does not apply to this route). An
 * Idempotency-Key header makes a retried import answer its first response.
 */
import { createHash, type Hash } from "node:crypto";
import { finished } from "node:stream/promises";
import { TRPCError } from "@trpc/server";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { validationError } from "../errors";
import { formatOfFileName, type ImportFormat, readItems } from "../import-formats";
import {
  checkIdempotencyKey,
  IDEMPOTENCY_KEY_HEADER,
  runIdempotent,
} from "../services/idempotency";
import { DEFAULT_MAX_IMPORT_BYTES, type ImportSource, importTasks } from "../services/import";
import type { RestOptions } from "./auth";
import { queryParam } from "./paging";
import { resource } from "./resource";

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

/** Django REST framework's reading of a boolean query parameter. */
function flag(request: FastifyRequest, name: string, fallback: boolean): boolean {
  const raw = queryParam(request, name)?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["true", "1", "yes", "on"].includes(raw)) return true;
  if (["false", "0", "no", "off"].includes(raw)) return false;
  throw validationError({ [name]: ["Must be a valid boolean."] });
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
        throw validationError({}, [
          `Unsupported file format of "${part.filename}": import .json, .jsonl, .csv, .tsv or .txt files.`,
        ]);
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

export const importRoutes: FastifyPluginAsync<RestOptions> = async (app, options) => {
  const { db } = options;
  const limit = options.maxImportBytes ?? DEFAULT_MAX_IMPORT_BYTES;

  // JSON bodies reach the handler as the raw stream, parsed item by item by the import.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", (_request, payload, done) => done(null, payload));

  resource(app, options, "/api/projects/:id/import", {
    async POST({ request, reply, actor }) {
      const declared = Number(request.headers["content-length"]);
      if (Number.isFinite(declared) && declared > limit) {
        reply.header("connection", "close");
        throw tooLarge(limit);
      }
      const project = (request.params as { id: string }).id;
      const commitToProject = flag(request, "commit_to_project", true);
      const returnTaskIds = flag(request, "return_task_ids", false);
      const key = checkIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]);
      const hash = key === undefined ? null : createHash("sha256");
      hash?.update(JSON.stringify({ project, commitToProject, returnTaskIds }));
      const parts = bodyParts(request, limit, hash);

      try {
        const outcome = await runIdempotent(db, actor, "project.import", key, {
          async create(txDb) {
            const sources = (async function* (): AsyncGenerator<ImportSource> {
              for await (const part of parts) {
                yield {
                  items: readItems(part.bytes, part.format),
                  file: part.file && { ...part.file, size: part.size },
                };
              }
            })();
            const response = await importTasks(txDb, actor, {
              project,
              sources,
              commitToProject,
              returnTaskIds,
            });
            return { statusCode: 201, response, requestHash: hash?.digest("hex") ?? "" };
          },
          async hash() {
            for await (const part of parts) for await (const _ of part.bytes);
            return hash?.digest("hex") ?? "";
          },
        });
        return reply.code(outcome.statusCode).send(outcome.response);
      } catch (error) {
        // Past the limit, stop reading: the connection closes after the answer.
        if (error instanceof TRPCError && error.code === "PAYLOAD_TOO_LARGE") {
          reply.header("connection", "close");
        }
        throw error;
      }
    },
  });
};
