/**
 * How Taskport's values travel, and the task serializer that every task list and the task
 * detail share (`toTaskDetail`).
 *
 * How values travel: superjson (so that dates stay dates) for tRPC and the web
 * app's prefetched queries, and JSON for REST. Both use the library first; a task stored with
 * JSON deeper than the library's recursion can follow (any depth PostgreSQL keeps) is written
 * by the iterative fallbacks here instead, with the same output, so reading never fails on
 * what is stored. The fallbacks handle what the API answers with: plain objects, arrays,
 * primitives, dates and undefined.
 */
import superjson, { type SuperJSONResult } from "superjson";
import { z } from "zod";
import { Annotation, AnnotationExpanded, type Annotator, Prediction } from "./annotation";
import type { Task } from "./task";

type TypeNote = "Date" | "undefined";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

interface Slot {
  source: unknown;
  target: Record<string | number, unknown>;
  name: string | number;
  parent: Slot | null;
}

function pathOf(slot: Slot): string {
  const parts: string[] = [];
  for (let s: Slot | null = slot; s?.parent; s = s.parent) {
    parts.push(String(s.name).replace(/\\/g, "\\\\").replace(/\./g, "\\."));
  }
  return parts.reverse().join(".");
}

/** superjson.serialize's result for `value`, without recursion; `overflow` is rethrown for values it cannot write. */
export function serializeIteratively(value: unknown, overflow: unknown): SuperJSONResult {
  if (value instanceof Date) return { json: value.toISOString(), meta: { values: ["Date"], v: 1 } };
  const values: Record<string, [TypeNote]> = {};
  const root: Record<string, unknown> = {};
  const stack: Slot[] = [{ source: value, target: root, name: "json", parent: null }];
  for (let slot = stack.pop(); slot; slot = stack.pop()) {
    const { source, target, name } = slot;
    if (Array.isArray(source)) {
      const copy: unknown[] = [];
      target[name] = copy;
      for (let i = source.length - 1; i >= 0; i--)
        stack.push({ source: source[i], target: copy as never, name: i, parent: slot });
    } else if (isPlainObject(source)) {
      const copy: Record<string, unknown> = {};
      target[name] = copy;
      const entries = Object.entries(source);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push({ source: child, target: copy, name: key, parent: slot });
      }
    } else if (source instanceof Date) {
      values[pathOf(slot)] = ["Date"];
      target[name] = source.toISOString();
    } else if (source === undefined && slot.parent) {
      values[pathOf(slot)] = ["undefined"];
      target[name] = null;
    } else if (
      source === null ||
      typeof source === "string" ||
      typeof source === "boolean" ||
      (typeof source === "number" && Number.isFinite(source))
    ) {
      target[name] = source;
    } else {
      // A type only superjson knows how to write: nothing to fall back to.
      throw overflow;
    }
  }
  const json = root.json as SuperJSONResult["json"];
  return Object.keys(values).length > 0 ? { json, meta: { values, v: 1 } } : { json };
}

/** tRPC's transformer, and the web app's for prefetched queries. */
export const transformer = {
  serialize(value: unknown): SuperJSONResult {
    try {
      return superjson.serialize(value);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return serializeIteratively(value, error);
    }
  },
  deserialize<T = unknown>(payload: SuperJSONResult): T {
    // In place: the payload was just parsed for this call, and copying it would recurse.
    return superjson.deserialize<T>(payload, { inPlace: true });
  },
};

/** JSON.stringify's text for `value`, without recursion. */
export function stringifyIteratively(value: unknown): string {
  const out: string[] = [];
  type Step = { value: unknown } | string;
  const stack: Step[] = [{ value }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    if (typeof step === "string") {
      out.push(step);
      continue;
    }
    let v = step.value;
    if (
      v !== null &&
      typeof v === "object" &&
      typeof (v as { toJSON?: unknown }).toJSON === "function"
    )
      v = (v as { toJSON: () => unknown }).toJSON();
    if (v === undefined || typeof v === "function" || typeof v === "symbol") {
      out.push("null");
    } else if (typeof v === "number") {
      out.push(Number.isFinite(v) ? String(v) : "null");
    } else if (typeof v === "bigint") {
      throw new TypeError("Do not know how to serialize a BigInt");
    } else if (v === null || typeof v !== "object") {
      out.push(JSON.stringify(v));
    } else if (Array.isArray(v)) {
      stack.push("]");
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] });
        if (i > 0) stack.push(",");
      }
      out.push("[");
    } else {
      const entries = Object.entries(v).filter(([, child]) => {
        const c = child;
        return c !== undefined && typeof c !== "function" && typeof c !== "symbol";
      });
      stack.push("}");
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push({ value: child });
        stack.push(`${i > 0 ? "," : ""}${JSON.stringify(key)}:`);
      }
      out.push("{");
    }
  }
  return out.join("");
}

/** JSON text of an answer: JSON.stringify, or the same text without recursion for deep values. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return stringifyIteratively(value);
  }
}

const TIME_UNITS: readonly [seconds: number, one: string, many: string][] = [
  [365 * 24 * 3600, "year", "years"],
  [30 * 24 * 3600, "month", "months"],
  [7 * 24 * 3600, "week", "weeks"],
  [24 * 3600, "day", "days"],
  [3600, "hour", "hours"],
  [60, "minute", "minutes"],
];

/**
 * Django's `timesince`, which Label Studio answers as `created_ago`: at most two adjacent
 * units ("1 hour, 5 minutes"), "0 minutes" under a minute, with non-breaking spaces.
 */
export function createdAgo(since: Date, now: Date = new Date()): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 1000));
  const phrase = (n: number, one: string, many: string) => `${n}\u00a0${n === 1 ? one : many}`;
  const first = TIME_UNITS.findIndex(([size]) => seconds >= size);
  if (first === -1) return phrase(0, "minute", "minutes");
  const [size, one, many] = TIME_UNITS[first] as (typeof TIME_UNITS)[number];
  const count = Math.floor(seconds / size);
  const parts = [phrase(count, one, many)];
  const next = TIME_UNITS[first + 1];
  if (next) {
    const rest = Math.floor((seconds - count * size) / next[0]);
    if (rest > 0) parts.push(phrase(rest, next[1], next[2]));
  }
  return parts.join(", ");
}

/** Label Studio's `created_username`: the name (Taskport keeps none), email and id. */
export function createdUsername(user: { id: number; email: string }): string {
  return ` ${user.email}, ${user.id}`;
}

/** The annotator as Label Studio expands `completed_by` in a task's annotations. */
export function annotatorOf(user: { id: number; email: string }): Annotator {
  return {
    id: user.id,
    first_name: "",
    last_name: "",
    avatar: null,
    email: user.email,
    initials: user.email.slice(0, 2),
  };
}

/** Python's `json.dumps` text (", " and ": " separators, non-ASCII kept), floats to 2 places. */
function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "NaN";
    return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  }
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`).join(", ")}}`;
}

const PRETTY_LIMIT = 500;

/**
 * The Data Manager's text of a list of values (`annotations_results`, `annotations_ids`,
 * ...), as Label Studio's `_pretty_results` writes it: without brackets and quotes, cut at
 * 500 characters.
 */
export function prettyResults(values: readonly unknown[]): string {
  const text = pythonJson(values.filter((v) => v !== null && v !== undefined)).slice(1, -1);
  return text
    .slice(0, PRETTY_LIMIT)
    .replaceAll(',"', ', "')
    .replaceAll("],[", "] [")
    .replaceAll('"', "");
}

/** What the task detail adds to a task's own fields, read with it. */
export interface TaskDetailParts {
  annotations: AnnotationExpanded[] | Annotation[];
  predictions: Prediction[];
  /** The project's model version: scores average over its predictions when it has one. */
  modelVersion: string;
  fileUploadName: string | null;
  storageFilename: string | null;
}

/**
 * A task as Label Studio's Data Manager serializer writes it, for `GET /api/tasks/{id}/` and
 * each item of the Data Manager list (`GET /api/tasks/`): its annotations and predictions
 * (the list leaves both out unless asked), the caller's drafts (Taskport keeps none), the
 * values the Data Manager computes from them, then the task's fields.
 */
export function toTaskDetail(task: Task, parts: TaskDetailParts): TaskDetail {
  const { annotations, predictions } = parts;
  const annotatorIds = annotations
    .map((a) => (typeof a.completed_by === "number" ? a.completed_by : a.completed_by?.id))
    .filter((id): id is number => typeof id === "number");
  const newest = annotations.reduce<(typeof annotations)[number] | null>(
    (last, a) => (last === null || a.id > last.id ? a : last),
    null,
  );
  const scored = predictions.filter(
    (p) =>
      p.score !== null && (parts.modelVersion === "" || p.model_version === parts.modelVersion),
  );
  const leadTimes = annotations.map((a) => a.lead_time).filter((t): t is number => t !== null);
  const distinctJson = (values: unknown[]) => {
    const seen = new Map<string, unknown>();
    for (const value of values) seen.set(JSON.stringify(value), value);
    return [...seen.values()];
  };
  const average = (values: number[]) =>
    values.length === 0 ? null : values.reduce((sum, v) => sum + v, 0) / values.length;
  return {
    id: task.id,
    predictions,
    annotations,
    drafts: [],
    annotators: [...new Set(annotatorIds)].sort((a, b) => a - b),
    inner_id: task.inner_id,
    cancelled_annotations: task.cancelled_annotations,
    total_annotations: task.total_annotations,
    total_predictions: task.total_predictions,
    completed_at: task.is_labeled && newest ? newest.created_at : null,
    annotations_results: prettyResults(distinctJson(annotations.map((a) => a.result))),
    predictions_results: prettyResults(distinctJson(predictions.map((p) => p.result))),
    predictions_score: average(scored.map((p) => p.score as number)),
    file_upload: parts.fileUploadName,
    storage_filename: parts.storageFilename,
    annotations_ids: prettyResults([...new Set(annotations.map((a) => a.id))]),
    predictions_model_versions: prettyResults([
      ...new Set(predictions.map((p) => p.model_version)),
    ]),
    avg_lead_time: average(leadTimes),
    draft_exists: false,
    updated_by: task.updated_by === null ? [] : [{ user_id: task.updated_by }],
    data: task.data,
    meta: task.meta,
    created_at: task.created_at,
    updated_at: task.updated_at,
    is_labeled: task.is_labeled,
    overlap: task.overlap,
    comment_count: task.comment_count,
    unresolved_comment_count: task.unresolved_comment_count,
    last_comment_updated_at: task.last_comment_updated_at,
    project: task.project,
    comment_authors: task.comment_authors,
  };
}

/** `GET /api/tasks/{id}/`: Label Studio's Data Manager task, in its key order. */
export const TaskDetail = z.object({
  id: z.number().int(),
  predictions: z.array(Prediction),
  annotations: z.array(z.union([AnnotationExpanded, Annotation])),
  drafts: z.array(z.record(z.string(), z.unknown())),
  annotators: z.array(z.number().int()),
  inner_id: z.number().int(),
  cancelled_annotations: z.number().int(),
  total_annotations: z.number().int(),
  total_predictions: z.number().int(),
  completed_at: z.date().nullable(),
  annotations_results: z.string(),
  predictions_results: z.string(),
  predictions_score: z.number().nullable(),
  file_upload: z.string().nullable(),
  storage_filename: z.string().nullable(),
  annotations_ids: z.string(),
  predictions_model_versions: z.string(),
  avg_lead_time: z.number().nullable(),
  draft_exists: z.boolean(),
  updated_by: z.array(z.object({ user_id: z.number().int() })),
  data: z.record(z.string(), z.unknown()),
  meta: z.record(z.string(), z.unknown()),
  created_at: z.date(),
  updated_at: z.date(),
  is_labeled: z.boolean(),
  overlap: z.number().int(),
  comment_count: z.number().int(),
  unresolved_comment_count: z.number().int(),
  last_comment_updated_at: z.date().nullable(),
  project: z.number().int(),
  comment_authors: z.array(z.number().int()),
});
export type TaskDetail = z.infer<typeof TaskDetail>;
