/**
 * The REST table's schemas: the named components of /api/openapi.json, Label Studio's error
 * responses, and the wire forms of ids, pages, flags and headers as Django REST framework
 * reads them. A failure that Label Studio answers with 404 rather than 400 (an id no row can
 * have, a page past the last) carries `params.status: 404` on its issue: rest/errors.ts answers
 * it with that status and the issue's message as the detail.
 */
import {
  AccessToken,
  DEFAULT_PAGE_SIZE,
  ErrorBody,
  Health,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKey,
  ImportResult,
  MAX_INT_ID,
  MAX_PAGE_SIZE,
  Project,
  ProjectCreateInput,
  ProjectPage,
  ProjectUpdateInput,
  StorableString,
  Task,
  TaskCreateInput,
  TaskDetail,
  TaskList,
  TaskUpdateBody as TaskUpdateFields,
  Token,
  TokenCreated,
  TokenCreateInput,
  TokenRefreshInput,
  VersionInfo,
} from "@taskport/schema";
import { z } from "zod";

/** Component names of /api/openapi.json; bodies get the suffix `Input` in the document. */
export const restSchemas = z.registry<{ id?: string; description?: string }>();

function named<T extends z.ZodType>(id: string, schema: T): T {
  restSchemas.add(schema, { id });
  return schema;
}

/** Adds a description to the document (the registry above, not Zod's global one). */
export function described<T extends z.ZodType>(schema: T, description: string): T {
  restSchemas.add(schema, { description });
  return schema;
}

export const TaskOut = named("Task", Task);
export const TaskDetailOut = named("TaskDetail", TaskDetail);
export const TaskListOut = named("TaskList", TaskList);
export const ProjectOut = named("Project", Project);
export const ProjectPageOut = named("ProjectPage", ProjectPage);
export const TokenOut = named("Token", Token);
export const TokenCreatedOut = named("TokenCreated", TokenCreated);
export const AccessTokenOut = named("AccessToken", AccessToken);
export const HealthOut = named("Health", Health);
export const VersionOut = named("VersionInfo", VersionInfo);
export const ImportResultOut = named("ImportResult", ImportResult);
export const ErrorBodyOut = named("ErrorBody", ErrorBody);

export const TaskCreateBody = named("TaskCreate", TaskCreateInput);
export const TaskUpdateBody = named("TaskUpdate", TaskUpdateFields);
export const ProjectCreateBody = named("ProjectCreate", ProjectCreateInput);
export const ProjectUpdateBody = named("ProjectUpdate", ProjectUpdateInput.omit({ id: true }));
export const TokenCreateBody = named("TokenCreate", TokenCreateInput);
export const TokenRefreshBody = named("TokenRefresh", TokenRefreshInput);

export type ErrorStatus = 400 | 401 | 404 | 405 | 409 | 413 | 415 | 422 | 503 | 507;

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: "Validation error: validation_errors names each field's problems.",
  401: "Missing or invalid credentials.",
  404: "Not found, in your organization (or a page past the last).",
  405: "Method not allowed.",
  409: "Conflict with what exists (a live token already).",
  413: "The body is larger than this server accepts.",
  415: "Unsupported content type.",
  422: "The idempotency key was already used with a different request.",
  503: "The database is unavailable: nothing was written; retry.",
  507: "No room left on the server's disk for the upload: nothing was kept.",
};

/** Label Studio's error body for each status an endpoint answers. */
export function errorResponses(statuses: readonly ErrorStatus[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: ERROR_DESCRIPTIONS[status],
        content: { "application/json": { schema: ErrorBodyOut } },
      },
    ]),
  );
}

type IssueContext = { value: unknown; issues: z.core.$ZodRawIssue[] };

/** An issue Label Studio answers with 404 and `detail` as its message. */
export function notFoundIssue(ctx: IssueContext, detail: string): void {
  ctx.issues.push({ code: "custom", message: detail, input: ctx.value, params: { status: 404 } });
}

/** The last value of a repeated query parameter, as DRF reads it. */
export const queryValue = z
  .union([StorableString, z.array(StorableString)])
  .transform((value) => (Array.isArray(value) ? value[value.length - 1] : value)?.trim());

/**
 * A list of names in a query parameter, as Label Studio reads one (split at the first of `,`,
 * `;` or `|` it holds); every repetition of the parameter counts (the newer SDK repeats it).
 */
export function queryList(description: string) {
  return described(
    z
      .union([StorableString, z.array(StorableString)])
      .optional()
      .transform((raw) =>
        (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).flatMap((value) => {
          const splitter = [",", ";", "|"].find((s) => value.includes(s));
          return (splitter ? value.split(splitter) : [value])
            .map((name) => name.trim())
            .filter(Boolean);
        }),
      ),
    description,
  );
}

/**
 * A row id in a URL. Anything but digits is DRF's "Not found."; digits that no row can have
 * (0, or beyond the column) are `missing`, the same 404 as an id that names no row.
 */
export function pathId(what: string, missing: string, max = MAX_INT_ID) {
  // Documented as a string: Label Studio answers 404, not 400, to anything but an id.
  return described(
    z.string().transform((raw, ctx) => {
      if (!/^\d+$/.test(raw)) {
        notFoundIssue(ctx, "Not found.");
        return z.NEVER;
      }
      const id = Number(raw);
      if (id < 1 || id > max) {
        notFoundIssue(ctx, missing);
        return z.NEVER;
      }
      return id;
    }),
    `The ${what}'s id.`,
  );
}

export const INVALID_PAGE = "Invalid page.";

/**
 * Page parameters as DRF's PageNumberPagination reads them: `page` must be a positive integer
 * (anything else is the 404 "Invalid page." that SDK pagers stop on); `page_size` falls back
 * to the default when unusable and is capped at the maximum (SDK 1.x asks for 10,000,000 and
 * expects a page, not an error).
 */
export const pageParams = {
  page: described(
    queryValue.optional().transform((raw, ctx) => {
      if (raw === undefined || raw === "") return 1;
      const page = Number(raw);
      if (!/^\d+$/.test(raw) || page < 1 || !Number.isSafeInteger(page)) {
        notFoundIssue(ctx, INVALID_PAGE);
        return z.NEVER;
      }
      return page;
    }),
    "Page number, from 1; past the last page: 404.",
  ),
  page_size: described(
    queryValue.optional().transform((raw) => {
      const size = raw && /^\d+$/.test(raw) ? Number(raw) : 0;
      return size > 0 ? Math.min(size, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
    }),
    `Items per page (default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}; larger values are capped).`,
  ),
};

export const PageQuery = z.looseObject(pageParams);

/** An integer query parameter that names a row: 400 unless digits, 404 beyond the column. */
export function queryId(missing: string) {
  return queryValue.transform((raw, ctx) => {
    if (!raw || !/^\d+$/.test(raw)) {
      const message = raw ? "A valid integer is required." : "This field is required.";
      ctx.issues.push({ code: "custom", message, input: raw });
      return z.NEVER;
    }
    const id = Number(raw);
    if (id < 1 || id > MAX_INT_ID) {
      notFoundIssue(ctx, missing);
      return z.NEVER;
    }
    return id;
  });
}

/**
 * Django REST framework's reading of a boolean query parameter; `fallback` when the query does
 * not name it (undefined: the handler can tell that it was not named).
 */
export function queryFlag<F extends boolean | undefined>(fallback: F, description: string) {
  return described(
    queryValue.optional().transform((raw, ctx) => {
      const value = raw?.toLowerCase();
      if (value === undefined || value === "") return fallback;
      if (["true", "1", "yes", "on"].includes(value)) return true;
      if (["false", "0", "no", "off"].includes(value)) return false;
      ctx.issues.push({ code: "custom", message: "Must be a valid boolean.", input: raw });
      return z.NEVER;
    }),
    description,
  );
}

/** The Idempotency-Key header of the create endpoints; other headers pass through. */
export const IdempotencyHeaders = z.looseObject({
  [IDEMPOTENCY_KEY_HEADER]: described(
    IdempotencyKey,
    "Replays within 24 hours with the same key and request answer the first response and create nothing; the same key with another request: 422.",
  ),
});
