/**
 * Expected failures as TRPCErrors with precise codes. Field errors travel as a ZodError cause,
 * so the tRPC formatter and the REST layer read them the same way (`z.flattenError`).
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";

/**
 * One refused input, with where it is: `field` is where Label Studio reports it (a body field,
 * or null for `non_field_errors`); `key` is the JSON path it concerns (["data", "text"]) when
 * that is more precise; `detail` is the message for people when the wire message adds a note.
 */
export interface InputIssue {
  field: string | null;
  message: string;
  key?: readonly (string | number)[];
  detail?: string;
}

/** BAD_REQUEST carrying its issues as a ZodError cause, read by tRPC's formatter and REST alike. */
export function issuesError(issues: readonly InputIssue[], message?: string): TRPCError {
  const zodIssues: z.core.$ZodIssue[] = issues.map((issue) => ({
    code: "custom" as const,
    path: issue.field === null ? [] : [issue.field],
    message: issue.message,
    input: undefined,
    params: { key: issue.key ?? (issue.field === null ? [] : [issue.field]), detail: issue.detail },
  }));
  const first = issues[0];
  return new TRPCError({
    code: "BAD_REQUEST",
    message:
      message ??
      (first
        ? first.field
          ? `${first.field}: ${first.message}`
          : first.message
        : "Validation error"),
    cause: new z.ZodRealError(zodIssues),
  });
}

export function validationError(
  fields: Record<string, string[]>,
  nonField: string[] = [],
): TRPCError {
  return issuesError([
    ...Object.entries(fields).flatMap(([field, messages]) =>
      messages.map((message) => ({ field, message })),
    ),
    ...nonField.map((message) => ({ field: null, message })),
  ]);
}

/** A refused field whose message reads on its own (a form shows it next to the field). */
export function fieldError(field: string, message: string): TRPCError {
  return issuesError([{ field, message }], message);
}

/**
 * `value` parsed by `schema`, for services that forms reach without a tRPC input: the first
 * issue is a refusal of its field.
 */
export function parseFields<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const field = issue?.path[0];
  throw typeof field === "string"
    ? fieldError(field, issue?.message ?? "Not a valid value.")
    : issuesError([{ field: null, message: issue?.message ?? "Not a valid value." }]);
}

/** The field a refusal concerns, when it names one. */
export function errorField(error: unknown): string | undefined {
  const cause = error instanceof TRPCError ? error.cause : undefined;
  const field = cause instanceof z.ZodError ? cause.issues[0]?.path[0] : undefined;
  return typeof field === "string" ? field : undefined;
}

/** The issues of a BAD_REQUEST as clients read them: field, key and message, as data. */
export function issuesOf(error: z.ZodError) {
  return error.issues.map((issue) => {
    const params = issue.code === "custom" ? (issue.params as Partial<InputIssue>) : undefined;
    return {
      field: typeof issue.path[0] === "string" ? issue.path[0] : null,
      key: (params?.key ?? issue.path).map((part) =>
        typeof part === "number" ? part : String(part),
      ),
      message: params?.detail ?? issue.message,
    };
  });
}

export function notFound(message: string): TRPCError {
  return new TRPCError({ code: "NOT_FOUND", message });
}

/** 405, in Django REST framework's words. */
export function methodNotAllowed(method: string): TRPCError {
  return new TRPCError({
    code: "METHOD_NOT_SUPPORTED",
    message: `Method "${method}" not allowed.`,
  });
}

/** The PostgreSQL SQLSTATE of a driver error, looking through Drizzle's wrapper. */
export function pgErrorCode(error: unknown): string | undefined {
  for (
    let e: unknown = error, depth = 0;
    e && depth < 4;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** Maps constraint violations to the client's fault; anything else is rethrown as is. */
export function mapDbError(error: unknown, what: string): never {
  const code = pgErrorCode(error);
  if (code === "23505")
    throw new TRPCError({ code: "CONFLICT", message: `${what} already exists.`, cause: error });
  if (code === "23503")
    throw new TRPCError({
      code: "NOT_FOUND",
      message: `${what} refers to something that no longer exists.`,
      cause: error,
    });
  throw error;
}

// Database outages answer 503 (with Retry-After) so that clients retry; they are neither the
// client's fault nor a bug. Each kind says truthfully what became of the request.

/** Failed before anything reached the database. */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "57P03", // cannot_connect_now: starting up or shutting down
  "53300", // too_many_connections
  "08001", // sqlclient_unable_to_establish_sqlconnection
  "08004", // sqlserver_rejected_establishment_of_sqlconnection
]);
/**
 * The server cancelled the statement (statement_timeout, lock_timeout) or aborted its
 * transaction to break a deadlock or a serialization conflict: rolled back.
 */
const TIMED_OUT = new Set(["57014", "55P03", "40P01", "40001", "POOL_TIMEOUT"]);
/** Lost while in flight: a commit may or may not have happened before. */
const LOST = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "ANSWER_TIMEOUT", // the server stayed silent past DATABASE_ANSWER_TIMEOUT_MS
  "DRIVER_FAILURE",
  "26000", // a prepared statement gone: a pooler without prepared-statement support
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "08000",
  "08003",
  "08006",
  "08007",
  "08P01",
]);

/** Seconds a client should wait before retrying a 503 (REST and tRPC send the same). */
export const RETRY_AFTER_SECONDS = 1;

export const DATABASE_UNAVAILABLE =
  "The database is unavailable right now: nothing was written. Try again shortly.";
export const DATABASE_BUSY =
  "The database is unavailable right now: it did not answer in time, and nothing was written. Try again shortly.";
export const DATABASE_LOST =
  "The database is unavailable right now: the connection was lost while answering, so the request may or may not have been applied. Retry it (with the same Idempotency-Key for a create).";

/** The outage message for an error that means the database could not serve it, if any. */
export function databaseOutage(error: unknown): string | undefined {
  for (
    let e: unknown = error, depth = 0;
    e && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (NOT_SENT.has(code)) return DATABASE_UNAVAILABLE;
    if (TIMED_OUT.has(code)) return DATABASE_BUSY;
    if (LOST.has(code)) return DATABASE_LOST;
  }
  return undefined;
}

/**
 * A write the file system refused for want of room: the disk (ENOSPC) or the user's quota
 * (EDQUOT) is full, or the file would pass the largest the file system takes (EFBIG). Neither
 * the client's fault nor a bug: it reaches clients as a StorageFull error, which REST answers
 * 507 Insufficient Storage (rest/errors.ts) and tRPC, which has no such code, 503.
 */
const NO_ROOM = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);

export const STORAGE_FULL =
  "The server has no room left to store the upload: its disk or quota is full, and nothing of the request was kept. Try again once space has been freed.";

/** Whether an error (or one it was caused by) is the file system refusing a write for want of room. */
export function storageFull(error: unknown): boolean {
  for (
    let e: unknown = error, depth = 0;
    e && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NO_ROOM.has(code)) return true;
  }
  return false;
}

/** The server had no room to store what a request sent (see `storageFull`). */
export class StorageFull extends TRPCError {
  constructor(cause: unknown) {
    super({ code: "SERVICE_UNAVAILABLE", message: STORAGE_FULL, cause });
  }
}

/**
 * The error a client should see: a database outage becomes SERVICE_UNAVAILABLE (503), a full
 * disk StorageFull.
 */
export function toClientError(error: unknown): unknown {
  if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") return error;
  const outage = databaseOutage(error);
  if (outage) return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: outage, cause: error });
  if (storageFull(error)) return new StorageFull(error);
  return error;
}
