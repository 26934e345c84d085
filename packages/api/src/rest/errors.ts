/**
 * The one place REST errors are written: every failure (a service's TRPCError, a Zod parse, a
 * Fastify parser error, anything unexpected) becomes Label Studio's error body (contract
 * section 2). Unexpected errors answer 500 with an id that is logged with the error; their
 * message and stack never reach the client.
 */
import { randomUUID } from "node:crypto";
import type { ErrorBody } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import packageJson from "../../package.json" with { type: "json" };
import { RETRY_AFTER_SECONDS, STORAGE_FULL, StorageFull, toClientError } from "../errors";
import { INTERNAL_ERROR_MESSAGE } from "../trpc";

export const API_VERSION: string = packageJson.version;
export const VALIDATION_ERROR = "Validation error";
export const NON_FIELD_ERRORS = "non_field_errors";

export type ValidationErrors = Record<string, string[]>;

/** Label Studio's error body; `validation_errors` only on validation errors. */
export function restErrorBody(
  statusCode: number,
  detail: string,
  validationErrors?: ValidationErrors,
): ErrorBody {
  return {
    id: randomUUID(),
    status_code: statusCode,
    version: API_VERSION,
    detail,
    exc_info: null,
    ...(validationErrors ? { validation_errors: validationErrors } : {}),
  };
}

/** Field errors of a ZodError in DRF's shape: `{field: [...], non_field_errors: [...]}`. */
export function validationErrorsOf(error: z.ZodError): ValidationErrors {
  const { formErrors, fieldErrors } = z.flattenError(error);
  const errors: ValidationErrors = {};
  for (const [field, messages] of Object.entries(fieldErrors)) {
    if (Array.isArray(messages) && messages.length > 0) errors[field] = messages as string[];
  }
  if (formErrors.length > 0) errors[NON_FIELD_ERRORS] = formErrors;
  return errors;
}

function notFoundStatus(issue: z.core.$ZodIssue): number | undefined {
  return issue.code === "custom"
    ? (issue.params as { status?: number } | undefined)?.status
    : undefined;
}

export interface RestError {
  statusCode: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Set for unexpected errors: what to log under `body.id`. */
  internal?: unknown;
}

function fastifyError(error: unknown): FastifyError | undefined {
  if (error instanceof Error && typeof (error as FastifyError).statusCode === "number") {
    return error as FastifyError;
  }
  return undefined;
}

const TOO_LARGE_CODES = new Set([
  "FST_ERR_CTP_BODY_TOO_LARGE",
  "FST_REQ_FILE_TOO_LARGE",
  "FST_PARTS_LIMIT",
  "FST_FILES_LIMIT",
  "FST_FIELDS_LIMIT",
]);

/** Maps any thrown value to its status, body and headers. */
export function toRestError(
  thrown: unknown,
  context: { contentType?: string; maxBodyBytes: number },
): RestError {
  const headers: Record<string, string> = {};
  const error = toClientError(thrown);
  if (error instanceof z.ZodError) {
    // Label Studio answers some wire errors with 404 (an id no row can have, a page past the
    // last): their issues say so (rest/schemas.ts), with the detail as their message.
    // The first failure decides, as DRF's view checks its filters before it pages.
    const [first] = error.issues;
    if (first && notFoundStatus(first) === 404) {
      return { statusCode: 404, headers, body: restErrorBody(404, first.message) };
    }
    const fields = new z.ZodError(error.issues.filter((issue) => notFoundStatus(issue) !== 404));
    return {
      statusCode: 400,
      headers,
      body: restErrorBody(400, VALIDATION_ERROR, validationErrorsOf(fields)),
    };
  }
  if (error instanceof StorageFull) {
    // An upload's rest is not read: the connection closes after the answer.
    headers.connection = "close";
    return { statusCode: 507, headers, body: restErrorBody(507, STORAGE_FULL) };
  }
  if (error instanceof TRPCError) {
    const statusCode = getHTTPStatusCodeFromError(error);
    if (error.code === "BAD_REQUEST") {
      const fields =
        error.cause instanceof z.ZodError
          ? validationErrorsOf(error.cause)
          : { [NON_FIELD_ERRORS]: [error.message] };
      return { statusCode, headers, body: restErrorBody(statusCode, VALIDATION_ERROR, fields) };
    }
    if (error.code === "INTERNAL_SERVER_ERROR") {
      const body = restErrorBody(500, INTERNAL_ERROR_MESSAGE);
      return { statusCode: 500, headers, body, internal: error.cause ?? error };
    }
    // Past a size limit the rest of the body is not read: the connection closes after the answer.
    if (error.code === "PAYLOAD_TOO_LARGE") headers.connection = "close";
    // A database outage (503) is worth a retry: SDKs retry 5xx by themselves.
    if (statusCode === 503) headers["retry-after"] = String(RETRY_AFTER_SECONDS);
    if (error.code === "UNAUTHORIZED") headers["www-authenticate"] = "Token";
    return { statusCode, headers, body: restErrorBody(statusCode, error.message) };
  }
  const fastify = fastifyError(error);
  if (fastify && fastify.statusCode !== undefined && fastify.statusCode < 500) {
    const code = fastify.code;
    if (TOO_LARGE_CODES.has(code) || fastify.statusCode === 413) {
      const detail = `The request body is larger than this server accepts (${context.maxBodyBytes} bytes, TASKPORT_MAX_BODY_BYTES).`;
      // The rest of the body is not read: the connection closes after the answer.
      headers.connection = "close";
      return { statusCode: 413, headers, body: restErrorBody(413, detail) };
    }
    if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      const detail = `Unsupported media type "${context.contentType ?? ""}" in request: send application/json, multipart/form-data or application/x-www-form-urlencoded.`;
      return { statusCode: 415, headers, body: restErrorBody(415, detail) };
    }
    if (code === "FST_ERR_CTP_INVALID_JSON_BODY") {
      const detail = "JSON parse error: the request body is not valid JSON.";
      return {
        statusCode: 400,
        headers,
        body: restErrorBody(400, detail),
      };
    }
    return {
      statusCode: fastify.statusCode,
      headers,
      body: restErrorBody(fastify.statusCode, fastify.message),
    };
  }
  return {
    statusCode: 500,
    headers,
    body: restErrorBody(500, INTERNAL_ERROR_MESSAGE),
    internal: error,
  };
}

export type LogError = (id: string, error: unknown) => void;

/** Sends `error` as the contract's body, logging unexpected ones with the body's id. */
export function sendRestError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  options: { maxBodyBytes: number; logError: LogError },
): FastifyReply {
  const mapped = toRestError(error, {
    contentType: request.headers["content-type"],
    maxBodyBytes: options.maxBodyBytes,
  });
  if (mapped.internal !== undefined) options.logError(mapped.body.id, mapped.internal);
  return reply.code(mapped.statusCode).headers(mapped.headers).send(mapped.body);
}
