/**
 * The OpenAPI 3.1 document of the REST API, generated from the Zod schemas the server parses
 * and answers with (`z.toJSONSchema`, JSON Schema 2020-12, which is OpenAPI 3.1's dialect).
 * Only the list of operations below is written here; every body schema comes from Zod, so the
 * document cannot drift from the code. Served at /api/openapi.json and rendered by the web
 * app's /api-reference page.
 */
import { z } from "zod";
import { Project, ProjectCreateInput, ProjectUpdateInput } from "./project";
import {
  AccessToken,
  ErrorBody,
  Health,
  ProjectPage,
  Token,
  TokenCreated,
  TokenCreateInput,
  TokenRefreshInput,
  VersionInfo,
} from "./rest";
import { Task, TaskCreateInput, TaskList, TaskUpdateInput } from "./task";

type JsonSchema = Record<string, unknown>;
type Method = "get" | "post" | "patch" | "delete";

const OUTPUTS = {
  Task,
  TaskList,
  Project,
  ProjectPage,
  TokenList: z.array(Token),
  TokenCreated,
  AccessToken,
  Health,
  VersionInfo,
  ErrorBody,
} satisfies Record<string, z.ZodType>;

const INPUTS = {
  TaskCreateInput,
  TaskUpdateInput: TaskUpdateInput.omit({ id: true }),
  ProjectCreateInput,
  ProjectUpdateInput: ProjectUpdateInput.omit({ id: true }),
  TokenCreateInput,
  TokenRefreshInput,
} satisfies Record<string, z.ZodType>;

type OutputName = keyof typeof OUTPUTS;
type InputName = keyof typeof INPUTS;

interface Param {
  name: string;
  in: "path" | "query";
  description: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface OperationSpec {
  method: Method;
  path: string;
  summary: string;
  tag: "Tasks" | "Projects" | "Tokens" | "Server";
  /** No credentials needed. */
  public?: boolean;
  params?: Param[];
  body?: InputName;
  /** Also accepts form and multipart bodies (JSON fields as JSON strings). */
  forms?: boolean;
  /** The success status and its body (none for 204). */
  success: { status: number; description: string; schema?: OutputName };
  errors: number[];
}

const integer = { type: "integer", minimum: 1 };
const idParam = (what: string): Param => ({
  name: "id",
  in: "path",
  required: true,
  description: `The ${what}'s id.`,
  schema: integer,
});
const pageParams: Param[] = [
  {
    name: "page",
    in: "query",
    description: "Page number, from 1; past the last page: 404.",
    schema: integer,
  },
  {
    name: "page_size",
    in: "query",
    description: "Items per page (default 30, at most 100; larger values are capped).",
    schema: integer,
  },
];

/** Every REST operation, in the order the reference shows them. */
export const REST_OPERATIONS: readonly OperationSpec[] = [
  {
    method: "post",
    path: "/api/tasks/",
    summary: "Create a task",
    tag: "Tasks",
    body: "TaskCreateInput",
    forms: true,
    success: { status: 201, description: "The created task.", schema: "Task" },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "get",
    path: "/api/tasks/",
    summary: "List a project's tasks",
    tag: "Tasks",
    params: [
      {
        name: "project",
        in: "query",
        required: true,
        description: "The project's id.",
        schema: integer,
      },
      ...pageParams,
    ],
    success: { status: 200, description: "A page of tasks, by inner_id.", schema: "TaskList" },
    errors: [400, 401, 404],
  },
  {
    method: "get",
    path: "/api/tasks/{id}/",
    summary: "Get a task",
    tag: "Tasks",
    params: [idParam("task")],
    success: { status: 200, description: "The task.", schema: "Task" },
    errors: [401, 404],
  },
  {
    method: "patch",
    path: "/api/tasks/{id}/",
    summary: "Update a task's data, meta or overlap",
    tag: "Tasks",
    params: [idParam("task")],
    body: "TaskUpdateInput",
    forms: true,
    success: { status: 200, description: "The updated task.", schema: "Task" },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "delete",
    path: "/api/tasks/{id}/",
    summary: "Delete a task",
    tag: "Tasks",
    params: [idParam("task")],
    success: { status: 204, description: "Deleted." },
    errors: [401, 404],
  },
  {
    method: "get",
    path: "/api/projects/",
    summary: "List projects",
    tag: "Projects",
    params: pageParams,
    success: {
      status: 200,
      description: "A page of projects, newest first.",
      schema: "ProjectPage",
    },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/api/projects/",
    summary: "Create a project",
    tag: "Projects",
    body: "ProjectCreateInput",
    forms: true,
    success: { status: 201, description: "The created project.", schema: "Project" },
    errors: [400, 401, 413, 415],
  },
  {
    method: "get",
    path: "/api/projects/{id}/",
    summary: "Get a project",
    tag: "Projects",
    params: [idParam("project")],
    success: { status: 200, description: "The project.", schema: "Project" },
    errors: [401, 404],
  },
  {
    method: "patch",
    path: "/api/projects/{id}/",
    summary: "Update a project",
    tag: "Projects",
    params: [idParam("project")],
    body: "ProjectUpdateInput",
    forms: true,
    success: { status: 200, description: "The updated project.", schema: "Project" },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "delete",
    path: "/api/projects/{id}/",
    summary: "Delete a project and its tasks",
    tag: "Projects",
    params: [idParam("project")],
    success: { status: 204, description: "Deleted." },
    errors: [401, 404],
  },
  {
    method: "get",
    path: "/api/tokens/",
    summary: "List your API tokens (never their secrets)",
    tag: "Tokens",
    success: {
      status: 200,
      description: "Your tokens, revoked ones included.",
      schema: "TokenList",
    },
    errors: [401],
  },
  {
    method: "post",
    path: "/api/tokens/",
    summary: "Create an API key or a personal access token",
    tag: "Tokens",
    body: "TokenCreateInput",
    success: {
      status: 201,
      description: "The token, with its secret: shown this once.",
      schema: "TokenCreated",
    },
    errors: [400, 401],
  },
  {
    method: "delete",
    path: "/api/tokens/{id}/",
    summary: "Revoke one of your tokens (from the next request on)",
    tag: "Tokens",
    params: [idParam("token")],
    success: { status: 204, description: "Revoked." },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/api/token/refresh/",
    summary: "Exchange a personal access token for a five-minute access JWT",
    tag: "Tokens",
    public: true,
    body: "TokenRefreshInput",
    success: {
      status: 200,
      description: "Send it as Authorization: Bearer <access>.",
      schema: "AccessToken",
    },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/api/health",
    summary: "Health of the server and its database",
    tag: "Server",
    public: true,
    success: { status: 200, description: "The database answers.", schema: "Health" },
    errors: [],
  },
  {
    method: "get",
    path: "/api/version",
    summary: "Server version",
    tag: "Server",
    public: true,
    success: { status: 200, description: "The version.", schema: "VersionInfo" },
    errors: [],
  },
];

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Validation error: validation_errors names each field's problems.",
  401: "Missing or invalid credentials.",
  404: "Not found, in your organization (or a page past the last).",
  413: "The body is larger than TASKPORT_MAX_BODY_BYTES.",
  415: "Unsupported content type.",
};

// JSON cannot carry a Date: dates travel as ISO-8601 strings in UTC.
function dateAsString(ctx: { zodSchema: z.core.$ZodType; jsonSchema: JsonSchema }): void {
  if (ctx.zodSchema._zod.def.type === "date") {
    ctx.jsonSchema.type = "string";
    ctx.jsonSchema.format = "date-time";
  }
}

function componentSchemas(
  schemas: Record<string, z.ZodType>,
  io: "input" | "output",
): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    io,
    uri: (id) => `#/components/schemas/${id}`,
    // Dates are described by `dateAsString` below instead.
    unrepresentable: "any",
    override: dateAsString,
  }) as { schemas: Record<string, JsonSchema> };
  const out: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    // Components are named by their key: a `$id` or a `$schema` per schema would be noise.
    const { $id: _id, $schema: _schema, ...rest } = schema;
    out[id] = rest;
  }
  return out;
}

/** `get /api/tasks/{id}/` -> `getApiTasksId`. */
function operationId(op: OperationSpec): string {
  const words = op.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return op.method + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join("");
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function operationObject(op: OperationSpec): JsonSchema {
  const json = op.body ? { schema: ref(op.body) } : undefined;
  const responses: JsonSchema = {
    [op.success.status]: {
      description: op.success.description,
      ...(op.success.schema
        ? { content: { "application/json": { schema: ref(op.success.schema) } } }
        : {}),
    },
  };
  for (const status of op.errors) {
    responses[status] = {
      description: ERROR_DESCRIPTIONS[status] ?? "Error.",
      content: { "application/json": { schema: ref("ErrorBody") } },
    };
  }
  return {
    operationId: operationId(op),
    summary: op.summary,
    tags: [op.tag],
    ...(op.public ? { security: [] } : {}),
    ...(op.params ? { parameters: op.params } : {}),
    ...(json
      ? {
          requestBody: {
            required: true,
            description: op.forms
              ? "JSON; form and multipart bodies are read too, with object fields (data, meta) as JSON strings."
              : undefined,
            content: {
              "application/json": json,
              ...(op.forms
                ? { "application/x-www-form-urlencoded": json, "multipart/form-data": json }
                : {}),
            },
          },
        }
      : {}),
    responses,
  };
}

export interface OpenApiOptions {
  version: string;
}

/** The OpenAPI 3.1 document of the REST API. */
export function buildOpenApiDocument(options: OpenApiOptions) {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of REST_OPERATIONS) {
    paths[op.path] ??= {};
    const item = paths[op.path];
    if (item) item[op.method] = JSON.parse(JSON.stringify(operationObject(op)));
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Taskport REST API",
      version: options.version,
      description:
        "Label Studio's task API: existing Label Studio scripts and SDKs work unchanged. Every path also answers without its trailing slash. Errors share one body: {id, status_code, version, detail, exc_info, validation_errors?}.",
    },
    tags: [{ name: "Tasks" }, { name: "Projects" }, { name: "Tokens" }, { name: "Server" }],
    security: [{ Token: [] }, { ApiKey: [] }, { Bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        Token: {
          type: "apiKey",
          in: "header",
          name: "Authorization",
          description: "Authorization: Token <key> (any number of spaces after Token).",
        },
        ApiKey: { type: "apiKey", in: "header", name: "X-Api-Key" },
        Bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "An access JWT from POST /api/token/refresh/.",
        },
      },
      schemas: { ...componentSchemas(OUTPUTS, "output"), ...componentSchemas(INPUTS, "input") },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
