/** The REST API's OpenAPI document, for this version of the server. */
import { buildOpenApiDocument, type OpenApiDocument } from "@taskport/schema";
import { API_VERSION } from "./errors";

let cached: OpenApiDocument | undefined;

/** What GET /api/openapi.json serves and the web app's API reference renders. */
export function restOpenApiDocument(): OpenApiDocument {
  cached ??= buildOpenApiDocument({ version: API_VERSION });
  return cached;
}
