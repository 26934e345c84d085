/**
 * The REST route table's mechanism. Every Label Studio endpoint is one `route()` (or
 * `publicRoute()`) entry: method, path, summary and tag, its params/query/headers/body and
 * response Zod schemas, and its handler. `registerRoutes` turns the entries into Fastify
 * routes, and @fastify/swagger builds /api/openapi.json from those same routes (see
 * ./openapi.ts), so an endpoint cannot be served without being documented.
 *
 * Adding an endpoint: write one entry in the resource's file (rest/tasks.ts, ...) or a new
 * file listed in rest/index.ts's ROUTES, e.g.
 *
 *   route({
 *     method: "GET", path: "/api/projects/{id}/labels/", tag: "Projects",
 *     summary: "List a project's labels",
 *     params: ProjectPath,                       // rest/schemas.ts: ids, pages, flags
 *     query: PageQuery,
 *     success: { status: 200, description: "A page of labels.", schema: LabelPage },
 *     errors: [401, 404],
 *     handler: ({ db, actor, params, query }) => listLabels(db, actor, params.id, query),
 *   }),
 *
 * and register its output schemas by name in rest/schemas.ts. What each entry gets for free,
 * as Django REST framework serves Label Studio:
 * - the path with and without its trailing slash (no redirect; SDKs send both);
 * - 405 with an `Allow` header for the other methods, and OPTIONS answering them, both before
 *   any body is read;
 * - `route()`: authentication in `onRequest`, before the body is read (an anonymous caller
 *   gets 401 whatever it sent); `publicRoute()` for the few endpoints anyone may call;
 * - params, query, headers and body parsed with their Zod schemas (DRF's "This field is
 *   required."), failures answered as Label Studio's error body by rest/errors.ts; `forms`
 *   also reads form and multipart bodies the way DRF does;
 * - the handler returns the body; the status is the entry's `success.status`.
 *
 * A body the service must check in Label Studio's own order (task create looks the project
 * up first) is declared `acceptedBody`: documented, handed to the handler as sent. A body
 * the handler streams (import) is declared with `streamedBody`.
 */
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  onRequestAsyncHookHandler,
  preValidationAsyncHookHandler,
} from "fastify";
import { z } from "zod";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { methodNotAllowed } from "../errors";
import { authenticate, type RestOptions } from "./auth";
import { type FormFieldTypes, readBody } from "./body";
import { described, type ErrorStatus, errorResponses } from "./schemas";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type Tag =
  | "Tasks"
  | "Annotations"
  | "Predictions"
  | "Projects"
  | "Import"
  | "Export"
  | "Storages"
  | "Jobs"
  | "Webhooks"
  | "Tokens"
  | "Users"
  | "Server";
export const TAGS: readonly Tag[] = [
  "Tasks",
  "Annotations",
  "Predictions",
  "Projects",
  "Import",
  "Export",
  "Storages",
  "Jobs",
  "Webhooks",
  "Tokens",
  "Users",
  "Server",
];

type Schema = z.ZodType | undefined;
type Parsed<S extends Schema, Fallback = undefined> = S extends z.ZodType ? z.output<S> : Fallback;

export interface RouteContext<P extends Schema, Q extends Schema, H extends Schema, B> {
  db: Db;
  options: RestOptions;
  request: FastifyRequest;
  reply: FastifyReply;
  params: Parsed<P>;
  query: Parsed<Q>;
  headers: Parsed<H>;
  body: B;
}

interface Success<R extends Schema> {
  status: 200 | 201 | 204;
  description: string;
  /** The body's schema; none for 204. */
  schema?: R;
}

interface RouteSpec<P extends Schema, Q extends Schema, H extends Schema, B extends Schema, R> {
  method: Method;
  /** As documented: `/api/tasks/{id}/`. The other spelling of its trailing slash is served too. */
  path: string;
  summary: string;
  tag: Tag;
  params?: P;
  query?: Q;
  headers?: H;
  /** Parsed before the handler runs; a failure is a 400 naming each field. */
  body?: B;
  /** Documented only: the handler gets the body as sent and checks it itself. */
  acceptedBody?: z.ZodType;
  /**
   * The content types an `acceptedBody` is documented in (JSON when unset). A multipart body
   * reaches the handler unread, for it to stream its parts.
   */
  consumes?: readonly string[];
  /** Documented only: the body reaches the handler unread, as a stream (JSON) or parts. */
  streamedBody?: { schema: z.ZodType; contentTypes: readonly string[] };
  /** Also read form and multipart bodies: JSON fields are JSON strings, integers digits. */
  forms?: FormFieldTypes;
  success: Success<R extends z.ZodType ? R : undefined>;
  /** Other answers that are not errors (a health check's 503), which the handler sends itself. */
  also?: readonly Answer[];
  /** The error statuses this endpoint answers, each with Label Studio's error body. */
  errors: readonly ErrorStatus[];
  handler: (
    context: RouteContext<P, Q, H, B extends z.ZodType ? z.output<B> : unknown> & { actor: Actor },
  ) => Promise<Result<R>>;
}

interface Answer {
  status: number;
  description: string;
  schema: z.ZodType;
}

/** The body to answer with the entry's success status, or a reply the handler sent itself. */
type Result<R> = (R extends z.ZodType ? z.output<R> : undefined) | FastifyReply;

/** One entry of the table, its types erased: what `registerRoutes` reads. */
export interface RestRoute {
  method: Method;
  path: string;
  summary: string;
  tag: Tag;
  public: boolean;
  params?: z.ZodType;
  query?: z.ZodType;
  headers?: z.ZodType;
  body?: z.ZodType;
  acceptedBody?: z.ZodType;
  consumes?: readonly string[];
  streamedBody?: { schema: z.ZodType; contentTypes: readonly string[] };
  forms?: FormFieldTypes;
  success: { status: 200 | 201 | 204; description: string; schema?: z.ZodType };
  also?: readonly Answer[];
  errors: readonly ErrorStatus[];
  handler: (
    context: RouteContext<Schema, Schema, Schema, unknown> & { actor?: Actor },
  ) => Promise<unknown>;
}

/** An endpoint for authenticated callers (API key, access JWT or session). */
export function route<
  P extends Schema = undefined,
  Q extends Schema = undefined,
  H extends Schema = undefined,
  B extends Schema = undefined,
  R = undefined,
>(spec: RouteSpec<P, Q, H, B, R>): RestRoute {
  return { ...spec, public: false } as unknown as RestRoute;
}

/** An endpoint anyone may call (health, version, the OpenAPI document, token refresh). */
export function publicRoute<
  P extends Schema = undefined,
  Q extends Schema = undefined,
  H extends Schema = undefined,
  B extends Schema = undefined,
  R = undefined,
>(
  spec: Omit<RouteSpec<P, Q, H, B, R>, "handler"> & {
    handler: (
      context: RouteContext<P, Q, H, B extends z.ZodType ? z.output<B> : unknown>,
    ) => Promise<Result<R>>;
  },
): RestRoute {
  return { ...spec, public: true } as unknown as RestRoute;
}

/** `/api/tasks/{id}/` as Fastify spells it: `/api/tasks/:id/`. */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

/** Both spellings of a path: with and without its trailing slash. */
export function bothSlashes(path: string): [documented: string, alias: string] {
  const bare = path.replace(/\/+$/, "");
  return path.endsWith("/") ? [path, bare] : [path, `${bare}/`];
}

/** Routes that serve a documented path without being its documentation (aliases, 405s, OPTIONS). */
export const PLUMBING = { hide: true } as const;

const actors = new WeakMap<FastifyRequest, Actor>();

const ALL_METHODS: readonly Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** `GET /api/tasks/{id}/` -> `getApiTasksId`. */
function operationId(entry: RestRoute): string {
  const words = entry.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return entry.method.toLowerCase() + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join("");
}

function schemaOf(entry: RestRoute): FastifySchema & Record<string, unknown> {
  const body = entry.body ?? entry.acceptedBody ?? entry.streamedBody?.schema;
  const consumes =
    entry.streamedBody?.contentTypes ??
    entry.consumes ??
    (entry.forms
      ? ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]
      : undefined);
  const success = entry.success.schema
    ? {
        description: entry.success.description,
        content: { "application/json": { schema: entry.success.schema } },
      }
    : described(z.undefined(), entry.success.description);
  const also = Object.fromEntries(
    (entry.also ?? []).map((answer) => [
      answer.status,
      {
        description: answer.description,
        content: { "application/json": { schema: answer.schema } },
      },
    ]),
  );
  return {
    operationId: operationId(entry),
    summary: entry.summary,
    tags: [entry.tag],
    ...(entry.public ? { security: [] } : {}),
    ...(entry.params ? { params: entry.params } : {}),
    ...(entry.query ? { querystring: entry.query } : {}),
    ...(entry.headers ? { headers: entry.headers } : {}),
    ...(body ? { body } : {}),
    ...(consumes ? { consumes: [...consumes] } : {}),
    response: { [entry.success.status]: success, ...also, ...errorResponses(entry.errors) },
  };
}

/** Routes (`METHOD url`) whose body is documented only: Fastify hands it over as sent. */
const bodyAsSent = new Set<string>();

function register(app: FastifyInstance, entries: readonly RestRoute[], options: RestOptions) {
  const byPath = new Map<string, RestRoute[]>();
  for (const entry of entries) byPath.set(entry.path, [...(byPath.get(entry.path) ?? []), entry]);

  for (const [path, onPath] of byPath) {
    const methods = ALL_METHODS.filter((method) => onPath.some((entry) => entry.method === method));
    const allow = [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
    const [documented, alias] = bothSlashes(path);
    for (const url of [documented, alias]) {
      for (const entry of onPath) {
        const schema = schemaOf(entry);
        if (!entry.body) bodyAsSent.add(`${entry.method} ${fastifyPath(url)}`);
        const onRequest: onRequestAsyncHookHandler | undefined = entry.public
          ? undefined
          : async (request) => {
              actors.set(request, await authenticate(request, options));
            };
        const preValidation: preValidationAsyncHookHandler | undefined = entry.forms
          ? async (request) => {
              request.body = await readBody(request, options.maxBodyBytes, entry.forms);
            }
          : undefined;
        app.route({
          method: entry.method,
          url: fastifyPath(url),
          schema: url === documented ? schema : { ...schema, ...PLUMBING },
          onRequest,
          preValidation,
          handler: async (request, reply) => {
            const result = await entry.handler({
              db: options.db,
              options,
              request,
              reply,
              actor: actors.get(request),
              params: request.params,
              query: request.query,
              headers: request.headers,
              body: request.body,
            });
            if (reply.sent) return reply;
            reply.code(entry.success.status);
            return entry.success.status === 204 ? reply.send() : reply.send(result);
          },
        });
      }
      app.route({
        method: "OPTIONS",
        url: fastifyPath(url),
        schema: PLUMBING,
        handler: async (_request, reply) => reply.code(204).header("allow", allow).send(),
      });
      const refused = ALL_METHODS.filter((method) => !methods.includes(method));
      if (refused.length === 0) continue;
      app.route({
        method: refused,
        url: fastifyPath(url),
        schema: PLUMBING,
        // Refused before the body is read, as Django REST framework does.
        onRequest: async (request, reply) => {
          reply.header("allow", allow);
          throw methodNotAllowed(request.method);
        },
        handler: async () => undefined,
      });
    }
  }
}

/**
 * Registers the table. Entries whose body is streamed get a scope of their own in which JSON
 * bodies reach the handler unparsed (content-type parsers are per scope in Fastify).
 */
export async function registerRoutes(
  app: FastifyInstance,
  entries: readonly RestRoute[],
  options: RestOptions,
): Promise<void> {
  register(
    app,
    entries.filter((entry) => !entry.streamedBody),
    options,
  );
  const streamed = entries.filter((entry) => entry.streamedBody);
  if (streamed.length === 0) return;
  await app.register(async (scope) => {
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser("application/json", (_request, payload, done) =>
      done(null, payload),
    );
    register(scope, streamed, options);
  });
}

/**
 * Fastify's validator for the table's schemas: Zod, with DRF's wording for a missing field.
 * A failure is the ZodError itself, so rest/errors.ts reads each issue's path and params as
 * data. Schemas the table only documents are not checked here.
 */
export function zodValidatorCompiler({
  schema,
  method,
  url,
  httpPart,
}: {
  schema: unknown;
  method: string;
  url: string;
  httpPart?: string;
}) {
  if (httpPart === "body" && bodyAsSent.has(`${method} ${url}`)) {
    return (data: unknown) => ({ value: data });
  }
  const zodSchema = schema as z.ZodType;
  return (data: unknown) => {
    const result = zodSchema.safeParse(data, { error: drfMessages });
    return result.success ? { value: result.data } : { error: result.error };
  };
}

// Django REST framework's wording for a missing field, which scripts written for Label Studio
// may match on; every other message is Zod's or the schema's own.
export const drfMessages: z.core.$ZodErrorMap = (issue) =>
  (issue.code === "invalid_type" || issue.code === "invalid_union") && issue.input === undefined
    ? "This field is required."
    : undefined;
