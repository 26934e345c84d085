/**
 * The API handler on a real HTTP server (port 0) over a test database, and a small client
 * that sends exactly the bytes and headers a test gives it.
 */
import type { ApiHandler } from "../../src/http";
import { createTestDatabase, startApiServer, type TestDatabase } from "../support";

export interface RestServer {
  tdb: TestDatabase;
  api: ApiHandler;
  base: string;
  secretKey: Uint8Array;
  /** Ids of the unexpected errors the server logged. */
  logged: string[];
  close(): Promise<void>;
}

export async function startRestServer(maxBodyBytes = 64 * 1024): Promise<RestServer> {
  const tdb = await createTestDatabase();
  const secretKey = new TextEncoder().encode("a test signing key of at least 32 bytes");
  const logged: string[] = [];
  const server = await startApiServer({
    db: tdb.db,
    secretKey,
    maxBodyBytes,
    logError: (id) => logged.push(id),
  });
  return {
    tdb,
    api: server.api,
    base: server.base,
    secretKey,
    logged,
    async close() {
      await server.close();
      await tdb.close();
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (undefined when empty). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  body: any;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** Sent as JSON (with its content type) unless a string, Buffer or FormData. */
  json?: unknown;
  body?: string | Buffer | FormData | URLSearchParams;
}

export async function send(
  base: string,
  method: string,
  path: string,
  options: SendOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | FormData | URLSearchParams | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(`${base}${path}`, { method, headers, body, redirect: "manual" });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

export const ERROR_KEYS = ["id", "status_code", "version", "detail", "exc_info"];
export const VALIDATION_KEYS = [...ERROR_KEYS, "validation_errors"];

export const TASK_KEYS = [
  "id",
  "data",
  "meta",
  "created_at",
  "updated_at",
  "is_labeled",
  "overlap",
  "inner_id",
  "total_annotations",
  "cancelled_annotations",
  "total_predictions",
  "comment_count",
  "unresolved_comment_count",
  "last_comment_updated_at",
  "project",
  "updated_by",
  "file_upload",
  "comment_authors",
];

export { PROJECT_FIELDS as PROJECT_KEYS } from "@taskport/schema";

/** `GET /api/tasks/{id}/`: Label Studio's Data Manager task serializer, in its order. */
export const TASK_DETAIL_KEYS = [
  "id",
  "predictions",
  "annotations",
  "drafts",
  "annotators",
  "inner_id",
  "cancelled_annotations",
  "total_annotations",
  "total_predictions",
  "completed_at",
  "annotations_results",
  "predictions_results",
  "predictions_score",
  "file_upload",
  "storage_filename",
  "annotations_ids",
  "predictions_model_versions",
  "avg_lead_time",
  "draft_exists",
  "updated_by",
  "data",
  "meta",
  "created_at",
  "updated_at",
  "is_labeled",
  "overlap",
  "comment_count",
  "unresolved_comment_count",
  "last_comment_updated_at",
  "project",
  "comment_authors",
];

/** A Data Manager list item: the detail without annotations and predictions (not `fields=all`). */
export const TASK_LIST_KEYS = TASK_DETAIL_KEYS.filter(
  (key) => key !== "annotations" && key !== "predictions",
);

/** Label Studio's AnnotationSerializer, in its order. */
export const ANNOTATION_KEYS = [
  "id",
  "result",
  "created_username",
  "created_ago",
  "completed_by",
  "was_cancelled",
  "ground_truth",
  "created_at",
  "updated_at",
  "draft_created_at",
  "lead_time",
  "import_id",
  "last_action",
  "bulk_created",
  "task",
  "project",
  "updated_by",
  "parent_prediction",
  "parent_annotation",
  "last_created_by",
];

/** Label Studio's PredictionSerializer, in its order. */
export const PREDICTION_KEYS = [
  "id",
  "result",
  "model_version",
  "created_ago",
  "score",
  "cluster",
  "neighbors",
  "mislabeling",
  "created_at",
  "updated_at",
  "model",
  "model_run",
  "task",
  "project",
];
