/**
 * Label Studio's synchronous export (`GET /api/projects/{id}/export`) and its list of formats.
 * Tasks are read in pages by id and written as they are read, so an export of any size holds
 * one page in memory: JSON as Label Studio's ExportDataSerializer writes each task, and
 * JSON_MIN, CSV and TSV as its converter (label_studio_sdk.converter) turns those tasks into
 * one record per annotation. CSV needs its columns before its first row, so it reads the
 * tasks twice: once for the column names, once for the rows.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  type Annotation,
  type ParsedLabelConfig,
  parseLabelConfig,
  stringifyJson,
} from "@taskport/schema";
import { type Options as StringifyOptions, stringify } from "csv-stringify/sync";
import { and, asc, eq, exists, gt, inArray, lte, max, type SQL } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { annotations, tasks } from "../db/schema";
import { fieldError, notFound } from "../errors";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { taskDetails } from "./task-detail";

/** Tasks read (and held) at a time. */
export const EXPORT_PAGE_SIZE = 500;

/** A format as Label Studio's converter describes it (`GET /api/projects/{id}/export/formats`). */
export interface ExportFormat {
  title: string;
  description: string;
  link: string;
  tags?: string[];
  name: string;
  disabled?: true;
}

const IMAGE_TAGS = ["image segmentation", "object detection", "keypoints"];

// The converter's formats in its order (label_studio_sdk 2.0's Converter._FORMAT_INFO).
const FORMATS: readonly Omit<ExportFormat, "disabled">[] = [
  {
    title: "JSON",
    description:
      "List of items in raw JSON format stored in one JSON file. Use to export both the data and the annotations for a dataset. It's Label Studio Common Format",
    link: "https://labelstud.io/guide/export.html#JSON",
    name: "JSON",
  },
  {
    title: "JSON-MIN",
    description:
      'List of items where only "from_name", "to_name" values from the raw JSON format are exported. Use to export only the annotations for a dataset.',
    link: "https://labelstud.io/guide/export.html#JSON-MIN",
    name: "JSON_MIN",
  },
  {
    title: "CSV",
    description:
      'Results are stored as comma-separated values with the column names specified by the values of the "from_name" and "to_name" fields.',
    link: "https://labelstud.io/guide/export.html#CSV",
    name: "CSV",
  },
  {
    title: "TSV",
    description:
      'Results are stored in tab-separated tabular file with column names specified by "from_name" "to_name" values',
    link: "https://labelstud.io/guide/export.html#TSV",
    name: "TSV",
  },
  {
    title: "CONLL2003",
    description: "Popular format used for the CoNLL-2003 named entity recognition challenge.",
    link: "https://labelstud.io/guide/export.html#CONLL2003",
    tags: ["sequence labeling", "text tagging", "named entity recognition"],
    name: "CONLL2003",
  },
  {
    title: "COCO",
    description:
      "Popular machine learning format used by the COCO dataset for object detection and image segmentation tasks with polygons and rectangles.",
    link: "https://labelstud.io/guide/export.html#COCO",
    tags: IMAGE_TAGS,
    name: "COCO",
  },
  {
    title: "COCO with Images",
    description: "COCO format with images downloaded.",
    link: "https://labelstud.io/guide/export.html#COCO",
    tags: IMAGE_TAGS,
    name: "COCO_WITH_IMAGES",
  },
  {
    title: "Pascal VOC XML",
    description:
      "Popular XML format used for object detection and polygon image segmentation tasks.",
    link: "https://labelstud.io/guide/export.html#Pascal-VOC-XML",
    tags: ["image segmentation", "object detection"],
    name: "VOC",
  },
  {
    title: "YOLO",
    description:
      "Popular TXT format is created for each image file. Each txt file contains annotations for the corresponding image file, that is object class, object coordinates, height & width.",
    link: "https://labelstud.io/guide/export.html#YOLO",
    tags: IMAGE_TAGS,
    name: "YOLO",
  },
  {
    title: "YOLO with Images",
    description: "YOLO format with images downloaded.",
    link: "https://labelstud.io/guide/export.html#YOLO",
    tags: IMAGE_TAGS,
    name: "YOLO_WITH_IMAGES",
  },
  {
    title: "YOLOv8 OBB",
    description:
      "Popular TXT format is created for each image file. Each txt file contains annotations for the corresponding image file. The YOLO OBB format designates bounding boxes by their four corner points with coordinates normalized between 0 and 1, so it is possible to export rotated objects.",
    link: "https://labelstud.io/guide/export.html#YOLO",
    tags: ["image segmentation", "object detection"],
    name: "YOLO_OBB",
  },
  {
    title: "YOLOv8 OBB with Images",
    description: "YOLOv8 OBB format with images downloaded.",
    link: "https://labelstud.io/guide/export.html#YOLO",
    tags: ["image segmentation", "object detection"],
    name: "YOLO_OBB_WITH_IMAGES",
  },
  {
    title: "Brush labels to NumPy",
    description: "Export your brush labels as NumPy 2d arrays. Each label outputs as one image.",
    link: "https://labelstud.io/guide/export.html#Brush-labels-to-NumPy-amp-PNG",
    tags: ["image segmentation"],
    name: "BRUSH_TO_NUMPY",
  },
  {
    title: "Brush labels to PNG",
    description: "Export your brush labels as PNG images. Each label outputs as one image.",
    link: "https://labelstud.io/guide/export.html#Brush-labels-to-NumPy-amp-PNG",
    tags: ["image segmentation"],
    name: "BRUSH_TO_PNG",
  },
  {
    title: "ASR Manifest",
    description:
      "Export audio transcription labels for automatic speech recognition as the JSON manifest format expected by NVIDIA NeMo models.",
    link: "https://labelstud.io/guide/export.html#ASR-MANIFEST",
    tags: ["speech recognition"],
    name: "ASR_MANIFEST",
  },
  {
    title: "Brush labels to COCO",
    description:
      "Export your brush labels as COCO format for segmentation tasks. Converts RLE encoded masks to COCO polygons.",
    link: "https://labelstud.io/guide/export.html#COCO",
    tags: ["image segmentation", "brush annotations"],
    name: "BRUSH_TO_COCO",
  },
];

/** The formats Taskport writes; Label Studio's others are listed as disabled. */
export const MADE_FORMATS = ["JSON", "JSON_MIN", "CSV", "TSV"] as const;
export type MadeFormat = (typeof MADE_FORMATS)[number];
const isMade = (name: string): name is MadeFormat =>
  (MADE_FORMATS as readonly string[]).includes(name);

/** Label Studio's list: the formats the project can be exported in first, then the others. */
export async function listExportFormats(
  db: Db,
  actor: Actor,
  projectId: number,
): Promise<ExportFormat[]> {
  if (!(await findProject(db, actor, projectId))) throw notFound(PROJECT_NOT_FOUND);
  return [
    ...FORMATS.filter((f) => isMade(f.name)),
    ...FORMATS.filter((f) => !isMade(f.name)).map((f) => ({ ...f, disabled: true as const })),
  ];
}

export interface ExportOptions {
  /** As the query names it (`exportType`, or the older `export_type`): refusals name it. */
  typeField: string;
  exportType: string;
  /** Tasks without any annotation too (Label Studio exports only tasks with one by default). */
  downloadAllTasks: boolean;
  /** Only these tasks, when given. */
  ids?: number[];
}

export interface ExportFile {
  filename: string;
  contentType: string;
  body: AsyncIterable<string>;
}

/** The export type asked for, or a 400 naming it. */
export function exportTypeOf(field: string, value: string): MadeFormat {
  const name = value.trim().toUpperCase();
  if (isMade(name)) return name;
  const made = `${MADE_FORMATS.slice(0, -1).join(", ")} and ${MADE_FORMATS.at(-1)}`;
  if (FORMATS.some((f) => f.name === name)) {
    throw fieldError(field, `Taskport does not make ${name} exports; it makes ${made}.`);
  }
  throw fieldError(field, `"${value}" is not an export format; use one of ${made}.`);
}

/** An annotation as Label Studio's export writes it (every field of its model, in its order). */
function exportAnnotation(a: Annotation) {
  return {
    id: a.id,
    completed_by: a.completed_by,
    result: a.result,
    was_cancelled: a.was_cancelled,
    ground_truth: a.ground_truth,
    created_at: a.created_at,
    updated_at: a.updated_at,
    draft_created_at: a.draft_created_at,
    lead_time: a.lead_time,
    prediction: {},
    result_count: 0,
    unique_id: uniqueIdOf(a.id),
    import_id: a.import_id,
    last_action: a.last_action,
    bulk_created: a.bulk_created,
    task: a.task,
    project: a.project,
    updated_by: a.updated_by,
    parent_prediction: a.parent_prediction,
    parent_annotation: a.parent_annotation,
    last_created_by: a.last_created_by,
  };
}
type ExportAnnotation = ReturnType<typeof exportAnnotation>;

/** Label Studio gives each annotation a random UUID; Taskport's is derived from its id, so it is stable. */
function uniqueIdOf(id: number): string {
  const hex = createHash("sha1").update(`taskport-annotation:${id}`).digest("hex");
  const variant = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface ExportTask {
  id: number;
  annotations: ExportAnnotation[];
  file_upload: string | null;
  drafts: unknown[];
  predictions: number[];
  data: Record<string, unknown>;
  meta: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  inner_id: number;
  total_annotations: number;
  cancelled_annotations: number;
  total_predictions: number;
  comment_count: number;
  unresolved_comment_count: number;
  last_comment_updated_at: Date | null;
  project: number;
  updated_by: number | null;
  comment_authors: number[];
}

/**
 * The project's tasks to export, a page at a time, in id order: the tasks that existed when
 * the export began (later ones are left out, so the two readings of a CSV agree).
 */
async function* exportPages(
  db: Db,
  projectId: number,
  options: ExportOptions,
  lastId: number,
): AsyncGenerator<ExportTask[]> {
  const filters: SQL[] = [eq(tasks.projectId, projectId), lte(tasks.id, lastId)];
  if (options.ids) filters.push(inArray(tasks.id, options.ids.length ? options.ids : [0]));
  if (!options.downloadAllTasks) {
    filters.push(
      exists(
        db
          .select({ one: annotations.id })
          .from(annotations)
          .where(eq(annotations.taskId, tasks.id)),
      ),
    );
  }
  let after = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(tasks)
      .where(and(...filters, gt(tasks.id, after)))
      .orderBy(asc(tasks.id))
      .limit(EXPORT_PAGE_SIZE);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]?.id ?? after;
    const details = await taskDetails(db, rows, { expandAnnotators: false, keepStorageUris: true });
    yield details.map((d) => ({
      id: d.id,
      annotations: (d.annotations as Annotation[]).map(exportAnnotation),
      file_upload: d.file_upload,
      drafts: [],
      predictions: d.predictions.map((p) => p.id),
      data: d.data,
      meta: d.meta,
      created_at: d.created_at,
      updated_at: d.updated_at,
      inner_id: d.inner_id,
      total_annotations: d.total_annotations,
      cancelled_annotations: d.cancelled_annotations,
      total_predictions: d.total_predictions,
      comment_count: d.comment_count,
      unresolved_comment_count: d.unresolved_comment_count,
      last_comment_updated_at: d.last_comment_updated_at,
      project: d.project,
      updated_by: d.updated_by[0]?.user_id ?? null,
      comment_authors: d.comment_authors,
    }));
    if (rows.length < EXPORT_PAGE_SIZE) return;
  }
}

/** One record of the converter: a task with one of its annotations' results by control tag. */
interface ConverterItem {
  id: number;
  input: Record<string, unknown>;
  output: Map<string, Record<string, unknown>[]>;
  completedBy: number | null | Record<string, never>;
  annotationId: number | null;
  createdAt: Date | null;
  updatedAt: Date | null;
  leadTime: number | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The control tag a result's `from_name` belongs to (a Repeater's `name_{{idx}}` by its pattern). */
function tagOf(schema: ParsedLabelConfig, fromName: string): string | undefined {
  if (schema[fromName]) return fromName;
  let best: string | undefined;
  let bestLength = 0;
  for (const [name, tag] of Object.entries(schema)) {
    if (!tag.regex) continue;
    let pattern = name;
    for (const [variable, regex] of Object.entries(tag.regex))
      pattern = pattern.replace(variable, regex);
    try {
      if (new RegExp(`^(?:${pattern})`).test(fromName) && pattern.length > bestLength) {
        best = name;
        bestLength = pattern.length;
      }
    } catch {
      // A pattern JavaScript cannot read matches nothing.
    }
  }
  return best;
}

/**
 * The converter's records of a task (`annotation_result_from_task`): one per annotation that was
 * not cancelled, newest first; one without results for a task with no annotation at all; none
 * for a task whose annotations were all cancelled.
 */
function* itemsOf(task: ExportTask, schema: ParsedLabelConfig): Generator<ConverterItem> {
  const base = { id: task.id, input: task.data };
  if (task.annotations.length === 0) {
    yield {
      ...base,
      output: new Map(),
      completedBy: {},
      annotationId: null,
      createdAt: null,
      updatedAt: null,
      leadTime: null,
    };
  }
  const kept = task.annotations
    .filter((a) => !a.was_cancelled)
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime());
  for (const annotation of kept) {
    const output = new Map<string, Record<string, unknown>[]>();
    for (const result of annotation.result as unknown[]) {
      if (!isObject(result)) continue;
      const fromName = typeof result.from_name === "string" ? result.from_name : "";
      const tag = fromName ? tagOf(schema, fromName) : undefined;
      let value: Record<string, unknown> | undefined;
      if (fromName && tag) {
        value = { ...(isObject(result.value) ? result.value : {}), type: schema[tag]?.type };
        if ("original_width" in result) value.original_width = result.original_width;
        if ("original_height" in result) value.original_height = result.original_height;
      } else if (fromName && result.type === "chatmessage") {
        value = { ...(isObject(result.value) ? result.value : {}), type: "chatmessage" };
      }
      if (!value) continue;
      output.set(fromName, [...(output.get(fromName) ?? []), value]);
    }
    yield {
      ...base,
      output,
      completedBy: annotation.completed_by,
      annotationId: annotation.id,
      createdAt: annotation.created_at,
      updatedAt: annotation.updated_at,
      leadTime: annotation.lead_time,
    };
  }
}

/** The converter's `prettify_result`: a single choice or text as itself, else the values. */
function prettify(values: Record<string, unknown>[]): unknown {
  let type: unknown;
  const out: unknown[] = [];
  for (const value of values) {
    const { type: t, ...rest } = value;
    type = t;
    if (t === "Choices" && Array.isArray(rest.choices) && rest.choices.length === 1) {
      out.push(rest.choices[0]);
    } else if (t === "TextArea" && Array.isArray(rest.text) && rest.text.length === 1) {
      out.push(rest.text[0]);
    } else if (t === "Chat" || t === "chatmessage") {
      out.push(rest.chatmessage ?? rest);
    } else {
      out.push(rest);
    }
  }
  return (type === "Choices" || type === "TextArea") && out.length === 1 ? out[0] : out;
}

/** The converter's `get_annotator`: an id (text unless `asNumber`), an expanded user's email. */
function annotatorOf(item: ConverterItem, asNumber: boolean): unknown {
  const by = item.completedBy;
  if (isObject(by)) return null;
  if (typeof by === "number" && asNumber) return by;
  return by === null ? "None" : String(by);
}

function jsonMinRecord(item: ConverterItem): Record<string, unknown> {
  const record: Record<string, unknown> = { ...item.input, id: item.id };
  for (const [name, values] of item.output) record[name] = prettify(values);
  record.annotator = annotatorOf(item, true);
  record.annotation_id = item.annotationId;
  record.created_at = item.createdAt;
  record.updated_at = item.updatedAt;
  record.lead_time = item.leadTime;
  return record;
}

/** Python's `repr` of a float, as the csv module writes one. */
export function pythonFloat(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  const exponent = n === 0 ? 0 : Math.floor(Math.log10(Math.abs(n)));
  if (exponent < -4 || exponent >= 16) {
    const [mantissa, power = "0"] = n.toExponential().split("e");
    const p = Number(power);
    return `${mantissa}e${p < 0 ? "-" : "+"}${String(Math.abs(p)).padStart(2, "0")}`;
  }
  const text = String(n);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/**
 * CSV as Python's csv module writes it with QUOTE_NONNUMERIC (the converter's): every string
 * quoted, None and '' as `""`, numbers and booleans bare, floats as Python writes them.
 */
const CSV_OPTIONS = {
  record_delimiter: "windows",
  quoted_string: true,
  quoted_empty: true,
  cast: {
    boolean: (value: boolean) => (value ? "True" : "False"),
    number: (value: number) => (Number.isInteger(value) ? String(value) : pythonFloat(value)),
    object: (value: object) =>
      value instanceof PyFloat ? pythonFloat(value.value) : { value: String(value), quoted: true },
  },
} as const satisfies StringifyOptions;

/** A number Python holds as a float (written `5.0`, not `5`). */
class PyFloat {
  constructor(readonly value: number) {}
}

const ALWAYS_COLUMNS = ["annotator", "annotation_id", "created_at", "updated_at", "lead_time"];

interface CsvColumns {
  inputs: Set<string>;
  outputs: Set<string>;
  transcripts: Set<string>;
}

const hasChat = (values: Record<string, unknown>[]) =>
  values.some((v) => v.type === "Chat" || v.type === "chatmessage");

function chatTranscript(pretty: unknown): string {
  if (!Array.isArray(pretty)) return "";
  const lines: string[] = [];
  for (const message of pretty) {
    if (!isObject(message)) continue;
    const role = message.role === undefined ? "" : String(message.role);
    const content = message.content === undefined ? "" : String(message.content);
    if (role) lines.push(content ? `${role}: ${content}` : `${role}:`);
    else lines.push(content);
  }
  return lines.join("\n");
}

/** The converter's CSV row of an item (`prepare_annotation`); task data keys that a control tag's name shadows become `_data_<key>`. */
function csvRow(item: ConverterItem, colliding: Set<string>): Map<string, unknown> {
  const row = new Map<string, unknown>([["id", item.id]]);
  for (const [name, values] of item.output) {
    const pretty = prettify(values);
    row.set(name, typeof pretty === "string" ? pretty : ujson(stringifyJson(pretty)));
    if (hasChat(values)) row.set(`${name}_transcript`, chatTranscript(pretty));
  }
  for (const [name, value] of Object.entries(item.input)) {
    const column = colliding.has(name) ? `_data_${name}` : name;
    row.set(
      column,
      value !== null && typeof value === "object" ? ujson(stringifyJson(value)) : value,
    );
  }
  const annotator = annotatorOf(item, false);
  row.set("annotator", annotator);
  row.set("annotation_id", item.annotationId);
  row.set("created_at", item.createdAt?.toISOString() ?? null);
  row.set("updated_at", item.updatedAt?.toISOString() ?? null);
  row.set("lead_time", item.leadTime === null ? null : new PyFloat(item.leadTime));
  return row;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Label Studio's name: `project-{id}-at-{YYYY-MM-DD-HH-MM}-{8 hex}` and the converter's file's extension. */
function fileName(projectId: number, format: MadeFormat, now: Date): string {
  const at = `${now.getUTCFullYear()}-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())}-${pad(now.getUTCHours())}-${pad(now.getUTCMinutes())}`;
  // Label Studio's 8 hex are the start of the file's md5; a streamed file has none yet.
  const tag = randomBytes(4).toString("hex");
  // The converter writes CSV and TSV both to result.csv.
  const extension = format === "JSON" || format === "JSON_MIN" ? "json" : "csv";
  return `project-${projectId}-at-${at}-${tag}.${extension}`;
}

const CONTENT_TYPES: Record<MadeFormat, string> = {
  JSON: "application/json",
  JSON_MIN: "application/json",
  CSV: "text/csv; charset=utf-8",
  TSV: "text/tab-separated-values; charset=utf-8",
};

/**
 * JSON text as Label Studio's ujson writes it: `/` escaped as `\/` (the same JSON to any
 * parser, and the same bytes as Label Studio's files). `/` only occurs inside strings.
 */
function ujson(text: string): string {
  return text.replaceAll("/", "\\/");
}

/** JSON text indented by two spaces (the converter's JSON_MIN records). */
function indented(value: unknown): string {
  try {
    return ujson(JSON.stringify(value, null, 2));
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return ujson(stringifyJson(value));
  }
}

/**
 * The project's export in one of the formats Taskport makes. The project (404) and the options
 * (400) are checked before the first byte; the body is read from the database as it is sent.
 */
export async function exportProject(
  db: Db,
  actor: Actor,
  projectId: number,
  options: ExportOptions,
  now: Date = new Date(),
): Promise<ExportFile> {
  const project = await findProject(db, actor, projectId);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  const format = exportTypeOf(options.typeField, options.exportType);
  const [last] = await db
    .select({ id: max(tasks.id) })
    .from(tasks)
    .where(eq(tasks.projectId, project.id));
  const lastId = last?.id ?? 0;
  const pages = () => exportPages(db, project.id, options, lastId);
  const schema = parseLabelConfig(project.labelConfig);
  const body =
    format === "JSON"
      ? jsonBody(pages)
      : format === "JSON_MIN"
        ? jsonMinBody(pages, schema)
        : csvBody(pages, schema, format === "CSV" ? "," : "\t");
  return { filename: fileName(project.id, format, now), contentType: CONTENT_TYPES[format], body };
}

type Pages = () => AsyncGenerator<ExportTask[]>;

async function* jsonBody(pages: Pages): AsyncGenerator<string> {
  let first = true;
  yield "[";
  for await (const page of pages()) {
    const parts = page.map((task) => ujson(stringifyJson(task)));
    if (parts.length === 0) continue;
    yield (first ? "" : ",") + parts.join(",");
    first = false;
  }
  yield "]";
}

async function* jsonMinBody(pages: Pages, schema: ParsedLabelConfig): AsyncGenerator<string> {
  let first = true;
  yield "[\n";
  for await (const page of pages()) {
    const parts: string[] = [];
    for (const task of page) {
      for (const item of itemsOf(task, schema)) parts.push(indented(jsonMinRecord(item)));
    }
    if (parts.length === 0) continue;
    yield (first ? "" : ",\n") + parts.join(",\n");
    first = false;
  }
  yield "\n]";
}

async function* csvBody(
  pages: Pages,
  schema: ParsedLabelConfig,
  separator: string,
): AsyncGenerator<string> {
  const seen: CsvColumns = { inputs: new Set(), outputs: new Set(), transcripts: new Set() };
  for await (const page of pages()) {
    for (const task of page) {
      for (const item of itemsOf(task, schema)) {
        for (const key of Object.keys(item.input)) seen.inputs.add(key);
        for (const [name, values] of item.output) {
          seen.outputs.add(name);
          if (hasChat(values)) seen.transcripts.add(`${name}_transcript`);
        }
      }
    }
  }
  const colliding = new Set([...seen.inputs].filter((key) => seen.outputs.has(key)));
  const columns = [
    ...new Set([
      ...ALWAYS_COLUMNS,
      "id",
      ...seen.outputs,
      ...seen.transcripts,
      ...[...seen.inputs].map((key) => (colliding.has(key) ? `_data_${key}` : key)),
    ]),
  ].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const options = { ...CSV_OPTIONS, delimiter: separator };
  yield stringify([columns], options);
  for await (const page of pages()) {
    const rows: unknown[][] = [];
    for (const task of page) {
      for (const item of itemsOf(task, schema)) {
        const row = csvRow(item, colliding);
        // A column that appeared between the two readings is left out rather than misplaced.
        rows.push(columns.map((column) => (row.has(column) ? row.get(column) : "")));
      }
    }
    if (rows.length) yield stringify(rows, options);
  }
}
