/**
 * /api/openapi.json, built by @fastify/swagger from the routes Fastify actually serves (the
 * REST table, rest/route.ts), with fastify-type-provider-zod turning their Zod schemas into
 * JSON Schema 2020-12 (OpenAPI 3.1's dialect). Nothing here lists an endpoint.
 */
import fastifySwagger, { type FastifyDynamicSwaggerOptions } from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
} from "fastify-type-provider-zod";
import type { OpenAPIV3_1 } from "openapi-types";
import { API_VERSION } from "./errors";
import { TAGS } from "./route";
import { restSchemas } from "./schemas";

const transform = createJsonSchemaTransform({ schemaRegistry: restSchemas, skipList: [] });
const transformComponents = createJsonSchemaTransformObject({ schemaRegistry: restSchemas });

type Document = OpenAPIV3_1.Document;

const COMPONENT = "#/components/schemas/";

/**
 * Every schema of the registry comes out twice (as an input and as an output); the document
 * keeps those that an operation, or another kept schema, refers to.
 */
function referencedOnly(document: Document): Document {
  const schemas: Record<string, unknown> = document.components?.schemas ?? {};
  const kept = new Set<string>();
  const pending: unknown[] = [document.paths];
  while (pending.length > 0) {
    const value = pending.pop();
    if (Array.isArray(value)) pending.push(...value);
    else if (value !== null && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) {
        if (key !== "$ref" || typeof child !== "string") pending.push(child);
        else if (child.startsWith(COMPONENT) && !kept.has(child.slice(COMPONENT.length))) {
          const name = child.slice(COMPONENT.length);
          kept.add(name);
          pending.push(schemas[name]);
        }
      }
    }
  }
  return {
    ...document,
    components: {
      ...document.components,
      schemas: Object.fromEntries(
        Object.entries(document.components?.schemas ?? {}).filter(([name]) => kept.has(name)),
      ),
    },
  };
}

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const options: FastifyDynamicSwaggerOptions = {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Taskport REST API",
        version: API_VERSION,
        description:
          "Label Studio's task API: existing Label Studio scripts and SDKs work unchanged. Every path also answers without (or with) its trailing slash. Errors share one body: {id, status_code, version, detail, exc_info, validation_errors?}.",
      },
      tags: TAGS.map((name) => ({ name })),
      security: [{ Token: [] }, { ApiKey: [] }, { Bearer: [] }],
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
      },
    },
    transform,
    transformObject: (input) => referencedOnly(transformComponents(input) as Document),
  };
  await app.register(fastifySwagger, options);
}
