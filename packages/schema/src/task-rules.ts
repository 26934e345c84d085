/**
 * The task rules: what a task must be to be stored, checked in Label Studio's order and with
 * its messages (contract sections 1 and 4), once for every path: REST and tRPC create and
 * update, import in every format, and the web form (this module is browser-safe). Each rule
 * answers the first refusal as a TaskIssue that says where it is, as data: `field` (where
 * Label Studio reports it: a body field, or null for non_field_errors) and `key` (the JSON
 * path it concerns, e.g. ["data", "text"]). Nothing downstream reads a message to place it.
 */
import { type ResultRules, resultErrors, scoreError } from "./annotation";
import { isJsonObject, MAX_INT_ID } from "./ids";
import { checkJson, JSON_LIMITS, type JsonKey } from "./json-text";
import { type ObjectTag, taskDataError } from "./label-config";

export type TaskField = "data" | "meta" | "overlap" | "project";

export interface TaskIssue {
  field: TaskField | null;
  key: JsonKey;
  /** As Label Studio words it, its notes included. */
  message: string;
  /** For people: the message without Label Studio's note, when it has one. */
  detail?: string;
}

export type RuleResult<T> = { ok: true; value: T } | { ok: false; issue: TaskIssue };

/** Label Studio's notes on a label config error: where it took the task's data from. */
export const DATA_NOTE = ' [assume: item["data"] = task root with values]';
export const FLAT_NOTE = " [assume: item as is = task root with values] ";
export const DATA_NOT_OBJECT = "Task[data] must be dict or list";
export const META_NOT_OBJECT = "Task[meta] must be dict or list";
export const FIELD_REQUIRED = "This field is required.";
export const FIELD_NOT_NULL = "This field may not be null.";
export const MAX_OVERLAP = 1000;

const fail = (issue: TaskIssue): { ok: false; issue: TaskIssue } => ({ ok: false, issue });

/** A primary key as Label Studio accepts one: a JSON integer or a string of digits. */
function integerOf(raw: unknown): number | null {
  if (typeof raw === "number" && Number.isInteger(raw)) return raw;
  if (typeof raw === "string" && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
  return null;
}

/**
 * The project a create names, read before anything else is checked (contract section 1,
 * step 3): none, an id to look up, something that is no id (Label Studio's 404 "Not found."),
 * 0 (a 400 on the field), or a number no project can have (the same 404 as an unknown id).
 */
export type ProjectRef =
  | { kind: "absent" }
  | { kind: "id"; id: number }
  | { kind: "not-an-id" }
  | { kind: "no-such-id" }
  | { kind: "invalid"; issue: TaskIssue };

export function readProjectRef(raw: unknown): ProjectRef {
  if (raw === undefined || raw === null || raw === "") return { kind: "absent" };
  const id = integerOf(raw);
  if (id === null) return { kind: "not-an-id" };
  if (id === 0) {
    return {
      kind: "invalid",
      issue: {
        field: "project",
        key: ["project"],
        message: 'Invalid pk "0" - object does not exist.',
      },
    };
  }
  return id > 0 && id <= MAX_INT_ID ? { kind: "id", id } : { kind: "no-such-id" };
}

/** `overlap`, when given: an integer from 1 to 1000. */
export function checkOverlap(raw: unknown): RuleResult<number | undefined> {
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  const value = integerOf(raw);
  const issue = (message: string) => fail({ field: "overlap", key: ["overlap"], message });
  if (value === null) return issue("A valid integer is required.");
  if (value < 1) return issue("Ensure this value is greater than or equal to 1.");
  if (value > MAX_OVERLAP)
    return issue(`Ensure this value is less than or equal to ${MAX_OVERLAP}.`);
  return { ok: true, value };
}

/**
 * `data` against the label config: every `$variable` of an object tag present, of a type the
 * tag reads (contract section 1, step 7). `note` is Label Studio's, which says where the data
 * was taken from.
 */
export function checkLabelConfigData(
  objectTags: readonly ObjectTag[],
  data: Record<string, unknown>,
  note = DATA_NOTE,
): TaskIssue | null {
  const error = taskDataError(objectTags, data);
  if (!error) return null;
  return {
    field: null,
    key: ["data", ...error.key.split(".")],
    message: error.message + note,
    detail: error.message,
  };
}

/** A JSON field within the limits and storable (steps 9 and the limits), or its issue. */
function checkJsonField(field: "data" | "meta", value: unknown): TaskIssue | null {
  const problem = checkJson(value, field);
  return problem ? { field, key: problem.key, message: problem.message } : null;
}

export interface TaskContent {
  data: Record<string, unknown>;
  meta: Record<string, unknown>;
}

/** `data` and `meta` (steps 6 to 9): objects, `data` fitting the label config, both storable. */
export function checkTaskContent(
  objectTags: readonly ObjectTag[],
  data: unknown,
  meta: unknown,
  note = DATA_NOTE,
): RuleResult<TaskContent> {
  if (!isJsonObject(data)) return fail({ field: null, key: ["data"], message: DATA_NOT_OBJECT });
  const configIssue = checkLabelConfigData(objectTags, data, note);
  if (configIssue) return fail(configIssue);
  const metaValue = meta ?? {};
  if (!isJsonObject(metaValue))
    return fail({ field: null, key: ["meta"], message: META_NOT_OBJECT });
  const jsonIssue = checkJsonField("data", data) ?? checkJsonField("meta", metaValue);
  if (jsonIssue) return fail(jsonIssue);
  return { ok: true, value: { data, meta: metaValue } };
}

export interface TaskCreateFields extends TaskContent {
  overlap: number | undefined;
}

/**
 * A create's fields once its project is known (`objectTags` its label config's object tags)
 * or known to be missing (null): steps 4 to 9 of contract section 1, first failure wins.
 */
export function checkTaskCreate(
  objectTags: readonly ObjectTag[] | null,
  body: Record<string, unknown>,
): RuleResult<TaskCreateFields> {
  if (body.data === undefined)
    return fail({ field: "data", key: ["data"], message: FIELD_REQUIRED });
  if (body.data === null) return fail({ field: "data", key: ["data"], message: FIELD_NOT_NULL });
  if (objectTags === null)
    return fail({ field: "project", key: ["project"], message: FIELD_REQUIRED });
  const overlap = checkOverlap(body.overlap);
  if (!overlap.ok) return overlap;
  const content = checkTaskContent(objectTags, body.data, body.meta);
  if (!content.ok) return content;
  return { ok: true, value: { ...content.value, overlap: overlap.value } };
}

export interface TaskUpdateFields {
  data?: Record<string, unknown>;
  meta?: Record<string, unknown>;
  overlap?: number;
}

/**
 * An update: the fields given, each by the create's rules; `data` as it will be (the stored
 * data when none is given) against the label config. What is not given is not rewritten, so
 * it is not checked again.
 */
export function checkTaskUpdate(
  objectTags: readonly ObjectTag[],
  stored: { data: Record<string, unknown> },
  body: { data?: unknown; meta?: unknown; overlap?: unknown },
): RuleResult<TaskUpdateFields> {
  const overlap = checkOverlap(body.overlap);
  if (!overlap.ok) return overlap;
  const data = body.data ?? stored.data;
  if (!isJsonObject(data)) return fail({ field: null, key: ["data"], message: DATA_NOT_OBJECT });
  const configIssue = checkLabelConfigData(objectTags, data);
  if (configIssue) return fail(configIssue);
  if (body.meta !== undefined && body.meta !== null && !isJsonObject(body.meta))
    return fail({ field: null, key: ["meta"], message: META_NOT_OBJECT });
  const jsonIssue =
    (body.data === undefined ? null : checkJsonField("data", data)) ??
    (body.meta == null ? null : checkJsonField("meta", body.meta));
  if (jsonIssue) return fail(jsonIssue);
  return {
    ok: true,
    value: {
      data: body.data === undefined ? undefined : data,
      meta: isJsonObject(body.meta) ? body.meta : undefined,
      overlap: overlap.value,
    },
  };
}

export interface ImportedAnnotation {
  result: unknown[];
  was_cancelled: boolean;
  /** Label Studio marks imported annotations as ground truth unless they say otherwise. */
  ground_truth: boolean;
  /** The annotation's id where it was exported from (Label Studio's `import_id`). */
  import_id: number | null;
  completed_by: number | null;
  lead_time: number | null;
}

export interface ImportedPrediction {
  result: unknown[];
  score: number | null;
  model_version: string;
}

export interface ImportedTask extends TaskContent {
  annotations: ImportedAnnotation[];
  predictions: ImportedPrediction[];
}

/**
 * The data key of a line of a text file (Label Studio's `$undefined$`): the import renames it
 * to the project's only data variable, or to `text`.
 */
export const UNDEFINED_DATA_KEY = "$undefined$";

/** The key a text line's `$undefined$` becomes: the config's only variable, else `text`. */
export function undefinedKeyOf(objectTags: readonly ObjectTag[]): string {
  const variables = new Set(
    objectTags.map((tag) => tag.variable?.split(".")[0]).filter((v): v is string => Boolean(v)),
  );
  const [only] = variables;
  return variables.size === 1 && only ? only : "text";
}

/** A user id as Label Studio exports it: a number, or `{id: n, ...}`. */
function userIdOf(raw: unknown): number | null | "invalid" {
  if (raw === undefined || raw === null) return null;
  const id = isJsonObject(raw) ? raw.id : raw;
  return typeof id === "number" && Number.isInteger(id) && id > 0 && id <= MAX_INT_ID
    ? id
    : "invalid";
}

/** The first problem of a result against the label config, as an import item's message. */
function resultProblem(
  rules: ResultRules | undefined,
  result: unknown,
  where: string,
): string | null {
  const [first] = rules ? resultErrors(rules, result) : [];
  return first === undefined ? null : `${where}.result: ${first}`;
}

function readAnnotation(raw: unknown, n: number, rules?: ResultRules): ImportedAnnotation | string {
  if (!isJsonObject(raw)) return `annotations[${n}] must be a dict`;
  const result = raw.result ?? [];
  if (!Array.isArray(result)) return `annotations[${n}].result must be a list`;
  const problem = resultProblem(rules, result, `annotations[${n}]`);
  if (problem) return problem;
  const cancelled = raw.was_cancelled ?? false;
  if (typeof cancelled !== "boolean") return `annotations[${n}].was_cancelled must be a boolean`;
  const groundTruth = raw.ground_truth ?? true;
  if (typeof groundTruth !== "boolean") return `annotations[${n}].ground_truth must be a boolean`;
  const importId =
    typeof raw.id === "number" && Number.isSafeInteger(raw.id) ? (raw.id as number) : null;
  const completedBy = userIdOf(raw.completed_by);
  if (completedBy === "invalid")
    return `annotations[${n}].completed_by must be a user id (an integer)`;
  const leadTime = raw.lead_time ?? null;
  if (leadTime !== null && typeof leadTime !== "number")
    return `annotations[${n}].lead_time must be a number`;
  return {
    result,
    was_cancelled: cancelled,
    ground_truth: groundTruth,
    import_id: importId,
    completed_by: completedBy,
    lead_time: leadTime,
  };
}

function readPrediction(raw: unknown, n: number, rules?: ResultRules): ImportedPrediction | string {
  if (!isJsonObject(raw)) return `predictions[${n}] must be a dict`;
  const result = raw.result ?? [];
  if (!Array.isArray(result)) return `predictions[${n}].result must be a list`;
  const problem = resultProblem(rules, result, `predictions[${n}]`);
  if (problem) return problem;
  const score = raw.score ?? null;
  if (score !== null && (typeof score !== "number" || !Number.isFinite(score)))
    return `predictions[${n}].score must be a number`;
  const badScore = rules ? scoreError(score) : null;
  if (badScore) return `predictions[${n}].score: ${badScore}`;
  const version = raw.model_version ?? "";
  if (typeof version !== "string" && typeof version !== "number")
    return `predictions[${n}].model_version must be a string`;
  return { result, score, model_version: String(version) };
}

function readList<T>(
  raw: unknown,
  field: "annotations" | "predictions",
  read: (value: unknown, n: number, rules?: ResultRules) => T | string,
  rules: ResultRules | undefined,
): T[] | TaskIssue {
  if (raw === undefined || raw === null) return [];
  const issue = (message: string, n?: number): TaskIssue => ({
    field: null,
    key: n === undefined ? [field] : [field, n],
    message,
  });
  if (!Array.isArray(raw)) return issue(`${field} must be a list`);
  const out: T[] = [];
  for (let n = 0; n < raw.length; n++) {
    const item = read(raw[n], n, rules);
    if (typeof item === "string") return issue(item, n);
    out.push(item);
  }
  return out;
}

/**
 * One imported item (contract section 4): `{data, meta?, annotations?, predictions?}` or a
 * flat object that is itself the data, checked by the create's rules (its notes say which
 * reading was taken), plus the shape of its inline annotations and predictions and, given the
 * project's result rules, their results (the rule of the annotation and prediction endpoints).
 */
export function checkImportItem(
  objectTags: readonly ObjectTag[],
  item: unknown,
  undefinedKey = undefinedKeyOf(objectTags),
  results?: ResultRules,
): RuleResult<ImportedTask> {
  if (!isJsonObject(item)) return fail({ field: null, key: [], message: DATA_NOT_OBJECT });
  const structured = Object.hasOwn(item, "data");
  let data = structured ? item.data : item;
  if (data === null) {
    return fail({ field: "data", key: ["data"], message: `data: ${FIELD_NOT_NULL}` });
  }
  if (isJsonObject(data) && Object.hasOwn(data, UNDEFINED_DATA_KEY)) {
    const { [UNDEFINED_DATA_KEY]: line, ...rest } = data;
    data = { ...rest, [undefinedKey]: line };
  }
  if (!isJsonObject(data)) return fail({ field: null, key: ["data"], message: DATA_NOT_OBJECT });
  const configIssue = checkLabelConfigData(objectTags, data, structured ? DATA_NOTE : FLAT_NOTE);
  if (configIssue) return fail(configIssue);
  const meta = structured ? (item.meta ?? {}) : {};
  if (!isJsonObject(meta)) return fail({ field: null, key: ["meta"], message: META_NOT_OBJECT });
  const annotations = structured
    ? readList(item.annotations, "annotations", readAnnotation, results)
    : [];
  if (!Array.isArray(annotations)) return fail(annotations);
  const predictions = structured
    ? readList(item.predictions, "predictions", readPrediction, results)
    : [];
  if (!Array.isArray(predictions)) return fail(predictions);
  const jsonIssue =
    checkJsonField("data", data) ??
    checkJsonField("meta", meta) ??
    checkJsonList("annotations", annotations) ??
    checkJsonList("predictions", predictions);
  if (jsonIssue) return fail(jsonIssue);
  return { ok: true, value: { data, meta, annotations, predictions } };
}

// Predictions carry whole masks (brush RLE): their size is not bounded, their depth is.
const LIST_LIMITS = { ...JSON_LIMITS, maxNodes: Number.POSITIVE_INFINITY };

function checkJsonList(field: "annotations" | "predictions", value: unknown): TaskIssue | null {
  const problem = checkJson(value, field, LIST_LIMITS);
  return problem ? { field: null, key: problem.key, message: problem.message } : null;
}
