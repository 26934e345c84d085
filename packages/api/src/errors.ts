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
