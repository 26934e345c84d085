/**
 * A request body as the services take it. JSON arrives parsed by Fastify. Form and multipart
 * bodies carry strings, as Django REST framework reads them: a repeated field keeps its last
 * value, JSON fields (`data`, `meta`) are JSON strings, integer fields are digit strings.
 * Files sent to an endpoint that takes none are read to the end and dropped.
 */
import { TRPCError } from "@trpc/server";
import type { FastifyRequest } from "fastify";
import { validationError } from "../errors";

export interface FormFieldTypes {
  /** Fields whose form value is a JSON document. */
  json?: readonly string[];
  /** Fields whose form value is an integer. */
  integer?: readonly string[];
  /** Fields whose form value is a boolean, spelled as DRF's BooleanField reads one. */
  boolean?: readonly string[];
}

const TRUE_VALUES = new Set([
  "t",
  "T",
  "y",
  "Y",
  "yes",
  "Yes",
  "YES",
  "true",
  "True",
  "TRUE",
  "on",
  "On",
  "ON",
  "1",
]);
const FALSE_VALUES = new Set([
  "f",
  "F",
  "n",
  "N",
  "no",
  "No",
  "NO",
  "false",
  "False",
  "FALSE",
  "off",
  "Off",
  "OFF",
  "0",
]);

function isFormBody(request: FastifyRequest): boolean {
  return (request.headers["content-type"] ?? "")
    .toLowerCase()
    .startsWith("application/x-www-form-urlencoded");
}

/**
 * The fields of a multipart body. Its bytes (fields and files, which are read and dropped) are
 * counted as they arrive against `limit` for the whole body, not per part: over it, a 413 at
 * once, and the rest is never read.
 */
async function multipartFields(
  request: FastifyRequest,
  limit: number,
): Promise<Record<string, unknown>> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const fields: Record<string, unknown> = {};
  let total = 0;
  const count = (bytes: number) => {
    total += bytes;
    if (total > limit) throw tooLarge();
  };
  try {
    for await (const part of request.parts({
      limits: { fileSize: limit + 1, fieldSize: limit + 1 },
    })) {
      if (part.type === "file") {
        for await (const chunk of part.file) count((chunk as Buffer).length);
        continue;
      }
      if (part.valueTruncated) throw tooLarge();
      count(typeof part.value === "string" ? Buffer.byteLength(part.value) : 0);
      fields[part.fieldname] = part.value;
    }
  } catch (error) {
    throw multipartFailure(error);
  }
  return fields;
}

/**
 * What an error met while reading a multipart body answers: busboy's own (a body that is not
 * the multipart it says it is) a 400; a refusal (a TRPCError, a limit's 413) or a failed system
 * call (the disk) stands as it is.
 */
export function multipartFailure(error: unknown): unknown {
  const { statusCode, syscall } = (error ?? {}) as { statusCode?: unknown; syscall?: unknown };
  if (error instanceof TRPCError || typeof statusCode === "number" || typeof syscall === "string") {
    return error;
  }
  return validationError({}, ["The multipart body is malformed or ends early."]);
}

function tooLarge(): Error {
  return Object.assign(new Error("multipart body too large"), {
    statusCode: 413,
    code: "FST_REQ_FILE_TOO_LARGE",
  });
}

function typedFields(raw: Record<string, unknown>, types: FormFieldTypes): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, rawValue] of Object.entries(raw)) {
    const value = Array.isArray(rawValue) ? rawValue[rawValue.length - 1] : rawValue;
    if (typeof value === "string" && types.json?.includes(name)) {
      try {
        fields[name] = JSON.parse(value);
      } catch {
        throw validationError({ [name]: ["Value must be valid JSON."] });
      }
    } else if (typeof value === "string" && types.integer?.includes(name)) {
      fields[name] = /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
    } else if (typeof value === "string" && types.boolean?.includes(name)) {
      fields[name] = TRUE_VALUES.has(value) ? true : FALSE_VALUES.has(value) ? false : value;
    } else {
      fields[name] = value;
    }
  }
  return fields;
}

/** The body of `request`: JSON as sent, form and multipart fields typed by `types`. */
export async function readBody(
  request: FastifyRequest,
  limit: number,
  types: FormFieldTypes = {},
): Promise<unknown> {
  if (request.isMultipart()) return typedFields(await multipartFields(request, limit), types);
  if (isFormBody(request)) return typedFields(request.body as Record<string, unknown>, types);
  return request.body;
}
