/**
 * Expected failures as TRPCErrors with precise codes. Field errors travel as a ZodError cause,
 * so the tRPC formatter and the REST layer read them the same way (`z.flattenError`).
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";

export function validationError(
  fields: Record<string, string[]>,
  nonField: string[] = [],
): TRPCError {
  const issues: z.core.$ZodIssue[] = [
    ...Object.entries(fields).flatMap(([field, messages]) =>
      messages.map((message) => ({
        code: "custom" as const,
        path: [field],
        message,
        input: undefined,
      })),
    ),
    ...nonField.map((message) => ({
      code: "custom" as const,
      path: [],
      message,
      input: undefined,
    })),
  ];
  const first = issues[0];
  const message = first
    ? first.path.length
      ? `${String(first.path[0])}: ${first.message}`
      : first.message
    : "Validation error";
  return new TRPCError({ code: "BAD_REQUEST", message, cause: new z.ZodRealError(issues) });
}

export function notFound(message: string): TRPCError {
  return new TRPCError({ code: "NOT_FOUND", message });
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

// Connection-level failures: the server is down, restarting, or unreachable. These are not
// the client's fault and not a bug; they answer 503 so that clients retry.
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
const UNAVAILABLE_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

export const DATABASE_UNAVAILABLE =
  "The database is unavailable right now: nothing was written. Try again shortly.";

/** Whether an error means the database could not be reached (rather than a bad query). */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (
    let e: unknown = error, depth = 0;
    e && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === "string" &&
      (UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.test(code))
    )
      return true;
  }
  return false;
}

/** The error a client should see: a database outage becomes SERVICE_UNAVAILABLE (503). */
export function toClientError(error: unknown): unknown {
  if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") return error;
  if (isDatabaseUnavailable(error)) {
    return new TRPCError({
      code: "SERVICE_UNAVAILABLE",
      message: DATABASE_UNAVAILABLE,
      cause: error,
    });
  }
  return error;
}
