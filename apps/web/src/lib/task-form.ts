/**
 * The task creation form, as plain functions: which fields a project's label config asks for,
 * how their values become task data, the browser-side checks (the server's own task rules,
 * from @taskport/schema), and where each error, the browser's or the server's, is shown: by
 * the key each error carries, never by its text.
 */
import {
  checkLabelConfig,
  checkTaskCreate,
  type ObjectTag,
  stringifyJson,
  taskDataError,
} from "@taskport/schema";

export type JsonKind = "string" | "number" | "boolean" | "array" | "object" | "null";

export interface TaskFormField {
  /** The data key, dotted for nested objects (`meta_info.url`). */
  key: string;
  /** The error key of this field: `data.<key>`. */
  errorKey: string;
  /** The object tags that read it, e.g. `<Text name="text">`. */
  readBy: string[];
  /** JSON types every reading tag accepts. */
  accepts: JsonKind[];
  /** "text" fields send their text as a string; "json" fields are parsed as JSON. */
  kind: "text" | "json";
  multiline: boolean;
}

const SAMPLES: Record<JsonKind, unknown> = {
  string: "",
  number: 0,
  boolean: false,
  array: [],
  object: {},
  null: null,
};

const MULTILINE_TAGS = new Set(["Text", "HyperText", "Paragraphs", "Table", "TimeSeries", "List"]);

/** The types a tag accepts, asked of the shared rule itself rather than copied from it. */
function acceptedKinds(tag: ObjectTag): JsonKind[] {
  return (Object.keys(SAMPLES) as JsonKind[]).filter(
    (kind) => taskDataError([{ ...tag, variable: "v" }], { v: SAMPLES[kind] }) === null,
  );
}

export type TaskFormSpec =
  | { ok: true; fields: TaskFormField[]; objectTags: ObjectTag[] }
  | { ok: false; error: string };

/** One field per data key the label config requires, in the config's order. */
export function taskFormSpec(labelConfig: string): TaskFormSpec {
  const check = checkLabelConfig(labelConfig);
  if (!check.ok) return { ok: false, error: check.error };
  const fields: TaskFormField[] = [];
  for (const key of check.variables) {
    const tags = check.objectTags.filter((t) => t.variable === key);
    const accepts = (Object.keys(SAMPLES) as JsonKind[]).filter((kind) =>
      tags.every((t) => acceptedKinds(t).includes(kind)),
    );
    const kind = accepts.includes("string") ? "text" : "json";
    fields.push({
      key,
      errorKey: `data.${key}`,
      readBy: tags.map((t) => `<${t.tag} name="${t.name}">`),
      accepts,
      kind,
      multiline: kind === "json" || tags.some((t) => MULTILINE_TAGS.has(t.tag)),
    });
  }
  return { ok: true, fields, objectTags: check.objectTags };
}

/** Errors by key: `data.<key>` for a data key, `data`, `meta`, `overlap`, `json`, `project`, `form`. */
export type TaskErrors = Record<string, string>;

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

/**
 * Task data from the form's values. An empty field leaves its key out, so that the
 * label-config rule reports it missing, as the server would.
 */
export function dataFromForm(
  fields: readonly TaskFormField[],
  values: Readonly<Record<string, string>>,
): { data: Record<string, unknown>; errors: TaskErrors } {
  const data: Record<string, unknown> = {};
  const errors: TaskErrors = {};
  for (const field of fields) {
    const raw = values[field.key] ?? "";
    if (raw.trim() === "") continue;
    let value: unknown = raw;
    if (field.kind === "json") {
      try {
        value = JSON.parse(raw);
      } catch {
        errors[field.errorKey] =
          `Enter JSON (${field.accepts.join(" or ")}), for example ${field.accepts.includes("array") ? '["a", "b"]' : '{"a": 1}'}.`;
        continue;
      }
    }
    setPath(data, field.key.split("."), value);
  }
  return { data, errors };
}

/** A raw JSON task, `{"data": {...}, "meta": {...}}`, for the current project. */
export function bodyFromJson(
  text: string,
  project: number,
): { body: Record<string, unknown> } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { error: `Not valid JSON: ${(error as Error).message}` };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { error: 'Enter a JSON object such as {"data": {"text": "..."}, "meta": {}}.' };
  }
  const { project: given, ...rest } = parsed as Record<string, unknown>;
  if (given !== undefined && given !== project) {
    return { error: `"project" is ${JSON.stringify(given)}, but this is project ${project}.` };
  }
  return { body: { ...rest, project } };
}

/** A starting point for raw mode: every required key, empty, and an empty meta. */
export function jsonTemplate(fields: readonly TaskFormField[]): string {
  const data: Record<string, unknown> = {};
  for (const field of fields) setPath(data, field.key.split("."), field.kind === "text" ? "" : []);
  return JSON.stringify({ data, meta: {} }, null, 2);
}

/** The error key of a JSON key path: its leading object keys, dotted (`data.list[0]` -> `data.list`). */
function errorKeyOf(key: readonly (string | number)[]): string {
  const names: string[] = [];
  for (const part of key) {
    if (typeof part !== "string") break;
    names.push(part);
  }
  return names.join(".");
}

/**
 * The browser's checks: the server's task rules, in the server's order, so that what the
 * browser accepts the server accepts. Empty when valid.
 */
export function validateTaskBody(
  objectTags: readonly ObjectTag[],
  body: Record<string, unknown>,
): TaskErrors {
  const checked = checkTaskCreate(objectTags, body);
  if (checked.ok) return {};
  const { key, detail, message } = checked.issue;
  return { [errorKeyOf(key) || "form"]: detail ?? message };
}

/** A refused input as the server describes it: where (`key`, e.g. ["data", "text"]) and what. */
export interface ServerIssue {
  field: string | null;
  key: (string | number)[];
  message: string;
}

/** The parts of a TRPCClientError this module reads. */
export interface ServerError {
  message: string;
  data?: {
    code?: string;
    zodError?: { issues?: ServerIssue[] } | null;
  } | null;
}

export const PROJECT_GONE =
  "This project no longer exists: it was deleted meanwhile. Go back to the projects list.";
export const SESSION_ENDED = "Your session has ended: log in again, then retry.";

/** A server refusal of `task.create`, keyed like the browser's own errors. */
export function serverTaskErrors(error: ServerError): TaskErrors {
  const code = error.data?.code;
  if (code === "NOT_FOUND") return { project: PROJECT_GONE };
  if (code === "UNAUTHORIZED") return { form: SESSION_ENDED };
  const issues = code === "BAD_REQUEST" ? (error.data?.zodError?.issues ?? []) : [];
  const errors: TaskErrors = {};
  for (const issue of issues) errors[errorKeyOf(issue.key) || "form"] ??= issue.message;
  return Object.keys(errors).length ? errors : { form: error.message };
}

/**
 * Where each error shows: next to the form field it concerns (the field of its key, or of the
 * nearest enclosing key), next to the JSON box in raw mode, else above the form.
 */
export function placeErrors(
  errors: TaskErrors,
  fields: readonly TaskFormField[],
  mode: "form" | "json",
): { byField: Record<string, string>; form: string[] } {
  const byField: Record<string, string> = {};
  const form: string[] = [];
  for (const [key, message] of Object.entries(errors)) {
    if (key === "form" || key === "project") {
      form.push(message);
      continue;
    }
    if (mode === "json") {
      byField.json ??= message;
      continue;
    }
    const field = fields
      .filter((f) => key === f.errorKey || key.startsWith(`${f.errorKey}.`))
      .sort((a, b) => b.errorKey.length - a.errorKey.length)[0];
    if (field) byField[field.errorKey] ??= message;
    else form.push(message);
  }
  return { byField, form };
}

/** A one-line preview of task data for the table. */
export function dataPreview(data: unknown, max = 80): string {
  const text = stringifyJson(data) ?? "";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
