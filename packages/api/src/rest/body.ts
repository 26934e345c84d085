/**
 * A request body as the services take it. JSON arrives parsed by Fastify. Form and multipart
 * bodies carry strings, as Django REST framework reads them: a repeated field keeps its last
 * value, JSON fields (`data`, `meta`) are JSON strings, integer fields are digit strings.
 * Files sent to an endpoint that takes none are read to the end and dropped.
 */
import { finished } from "node:stream/promises";
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

async function multipartFields(request: FastifyRequest): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  for await (const part of request.parts()) {
    if (part.type === "file") {
      await finished(part.file.resume());
      if (part.file.truncated) throw tooLarge();
      continue;
    }
    if (part.valueTruncated) throw tooLarge();
    fields[part.fieldname] = part.value;
  }
  return fields;
}

function tooLarge(): Error {
  return Object.assign(new Error("multipart field too large"), {
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
  types: FormFieldTypes = {},
): Promise<unknown> {
  if (request.isMultipart()) return typedFields(await multipartFields(request), types);
  if (isFormBody(request)) return typedFields(request.body as Record<string, unknown>, types);
  return request.body;
}
