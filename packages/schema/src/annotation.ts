/**
 * Annotations and predictions: the result rule (a result against the project's label config,
 * as Label Studio's label interface checks it), shared by the annotation and prediction
 * endpoints and by the import's inline annotations and predictions, and the wire shapes in
 * Label Studio's key order.
 */
import { z } from "zod";
import { isJsonObject, MAX_INT_ID, TaskId } from "./ids";
import { checkLabelConfig } from "./label-config";
import { type ParsedLabelConfig, parseLabelConfig } from "./parsed-config";

/** What a result is checked against: the config's control tags and object tag names. */
export interface ResultRules {
  controls: ParsedLabelConfig;
  objects: ReadonlySet<string>;
}

export function resultRulesOf(labelConfig: string): ResultRules {
  const check = checkLabelConfig(labelConfig);
  const objects = new Set(check.ok ? check.objectTags.map((tag) => tag.name) : []);
  return { controls: parseLabelConfig(labelConfig), objects };
}

const REGION_FIELDS = ["from_name", "to_name", "type", "value"] as const;
const RELATION_FIELDS = ["type", "direction", "from_id", "to_id"] as const;
const DIRECTIONS = ["left", "right", "bi"];

const show = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

function regionErrors(rules: ResultRules, region: Record<string, unknown>, i: number): string[] {
  const missing = REGION_FIELDS.filter((field) => !(field in region));
  if (missing.length > 0) {
    return missing.map((field) => `Region ${i}: Missing required field '${field}'`);
  }
  const from = show(region.from_name);
  const to = show(region.to_name);
  const control = Object.hasOwn(rules.controls, from) ? rules.controls[from] : undefined;
  if (!control) return [`Region ${i}: 'from_name' '${from}' not found in configuration`];
  if (!rules.objects.has(to)) return [`Region ${i}: 'to_name' '${to}' not found in configuration`];
  const errors: string[] = [];
  const expected = control.type.toLowerCase();
  const actual = show(region.type).toLowerCase();
  if (actual !== expected) {
    errors.push(
      `Region ${i}: Type '${actual}' does not match expected type '${expected}' for control '${from}'`,
    );
  }
  if (!control.to_name.includes(to)) {
    errors.push(
      `Region ${i}: 'to_name' '${to}' is not valid for control '${from}'. Valid options: ${JSON.stringify(control.to_name)}`,
    );
  }
  if (!isJsonObject(region.value)) {
    errors.push(`Region ${i}: 'value' must be a dictionary`);
  }
  return errors;
}

function relationErrors(relation: Record<string, unknown>, ids: Set<unknown>, i: number) {
  const errors = RELATION_FIELDS.filter((field) => !(field in relation)).map(
    (field) => `Relation ${i}: Missing required field '${field}'`,
  );
  if (!DIRECTIONS.includes(relation.direction as string)) {
    errors.push(
      `Relation ${i}: Direction must be one of ('left', 'right', 'bi'), got '${show(relation.direction)}'`,
    );
  }
  for (const end of ["from_id", "to_id"] as const) {
    if (!ids.has(relation[end])) {
      errors.push(`Relation ${i}: '${end}' '${show(relation[end])}' not found in regions`);
    }
  }
  return errors;
}

/**
 * The problems of a result against the label config, in Label Studio's words: a list of
 * regions, each with `from_name` (a control tag), `to_name` (an object tag the control
 * targets), the control's `type` and a `value`; relations between regions that exist. A
 * project whose config has no control tags takes any list (Label Studio skips its default
 * config the same way).
 */
export function resultErrors(rules: ResultRules, result: unknown): string[] {
  if (!Array.isArray(result)) return ["'result' must be a list"];
  if (Object.keys(rules.controls).length === 0) return [];
  const errors: string[] = [];
  const ids = new Set<unknown>();
  const relations: [number, Record<string, unknown>][] = [];
  result.forEach((region: unknown, i) => {
    if (!isJsonObject(region)) {
      errors.push(`Region must be a dictionary. Got: ${JSON.stringify(region) ?? String(region)}`);
    } else if (region.type === "relation") {
      relations.push([i, region]);
    } else {
      const problems = regionErrors(rules, region, i);
      errors.push(...problems);
      if (problems.length === 0 && "id" in region) ids.add(region.id);
    }
  });
  for (const [i, relation] of relations) errors.push(...relationErrors(relation, ids, i));
  return errors;
}

/** A prediction's score: a number from 0 to 1, or none. */
export function scoreError(score: unknown): string | null {
  if (score === undefined || score === null) return null;
  if (typeof score !== "number" || !Number.isFinite(score)) {
    return `Score must be a valid number, got ${show(score)}`;
  }
  return score < 0 || score > 1
    ? `Score must be between 0.00 and 1.00 inclusive, got ${score}`
    : null;
}

const JsonObject = z.record(z.string(), z.unknown());
const Id = z.number().int();

/** An annotation as Label Studio's AnnotationSerializer writes it, in its key order. */
export const Annotation = z.object({
  id: Id,
  result: z.array(JsonObject),
  created_username: z.string(),
  created_ago: z.string(),
  completed_by: Id.nullable(),
  was_cancelled: z.boolean(),
  ground_truth: z.boolean(),
  created_at: z.date(),
  updated_at: z.date(),
  draft_created_at: z.date().nullable(),
  lead_time: z.number().nullable(),
  import_id: Id.nullable(),
  last_action: z.string().nullable(),
  bulk_created: z.boolean(),
  task: Id,
  project: Id,
  updated_by: Id.nullable(),
  parent_prediction: Id.nullable(),
  parent_annotation: Id.nullable(),
  last_created_by: Id.nullable(),
});
export type Annotation = z.infer<typeof Annotation>;

/** The annotator as the task detail expands `completed_by` (Label Studio's CompletedByDM). */
export const Annotator = z.object({
  id: Id,
  first_name: z.string(),
  last_name: z.string(),
  avatar: z.string().nullable(),
  email: z.string(),
  initials: z.string(),
});
export type Annotator = z.infer<typeof Annotator>;

/** An annotation inside the task detail: `completed_by` expanded to its user. */
export const AnnotationExpanded = Annotation.extend({ completed_by: Annotator.nullable() });
export type AnnotationExpanded = z.infer<typeof AnnotationExpanded>;

/** A prediction as Label Studio's PredictionSerializer writes it, in its key order. */
export const Prediction = z.object({
  id: Id,
  result: z.array(JsonObject),
  model_version: z.string(),
  created_ago: z.string(),
  score: z.number().nullable(),
  cluster: Id.nullable(),
  neighbors: z.unknown(),
  mislabeling: z.number(),
  created_at: z.date(),
  updated_at: z.date(),
  model: Id.nullable(),
  model_run: Id.nullable(),
  task: Id,
  project: Id,
});
export type Prediction = z.infer<typeof Prediction>;

/** `POST /api/annotations/bulk/`: one `{id}` per created annotation. */
export const AnnotationIds = z.array(z.object({ id: Id }));

/** `POST /api/projects/{id}/import/predictions`: how many were created. */
export const PredictionImportResult = z.object({ created: Id });
export type PredictionImportResult = z.infer<typeof PredictionImportResult>;

const UserRef = z.number().int().min(1).max(MAX_INT_ID);

/**
 * What a client may send for an annotation (create and update): Label Studio's writable
 * fields. Unknown keys are ignored, as DRF does; read-only ones (`id`, `created_at`, ...) too.
 */
export const AnnotationFields = z.object({
  result: z.unknown().optional(),
  was_cancelled: z.boolean().optional(),
  ground_truth: z.boolean().optional(),
  lead_time: z.number().nullable().optional(),
  completed_by: UserRef.nullable().optional(),
  draft_created_at: z.coerce.date().nullable().optional(),
  import_id: z.number().int().nullable().optional(),
  parent_prediction: TaskId.nullable().optional(),
  parent_annotation: TaskId.nullable().optional(),
});
export type AnnotationFields = z.infer<typeof AnnotationFields>;

/** What a client may send for a prediction (create and update). */
export const PredictionFields = z.object({
  task: TaskId.optional(),
  result: z.unknown().optional(),
  score: z.unknown().optional(),
  model_version: z.string().nullable().optional(),
  cluster: z.number().int().nullable().optional(),
  neighbors: z.unknown().optional(),
  mislabeling: z.number().optional(),
});
export type PredictionFields = z.infer<typeof PredictionFields>;

export const AnnotationCreateInput = AnnotationFields.extend({ task: TaskId });
export type AnnotationCreateInput = z.infer<typeof AnnotationCreateInput>;
export const AnnotationUpdateInput = AnnotationFields.extend({ id: TaskId });
export type AnnotationUpdateInput = z.infer<typeof AnnotationUpdateInput>;
export const AnnotationByIdInput = z.object({ id: TaskId });
export const AnnotationListInput = z.object({ task: TaskId });

export const PredictionCreateInput = PredictionFields.extend({ task: TaskId });
export type PredictionCreateInput = z.infer<typeof PredictionCreateInput>;
export const PredictionUpdateInput = PredictionFields.omit({ task: true }).extend({ id: TaskId });
export type PredictionUpdateInput = z.infer<typeof PredictionUpdateInput>;
export const PredictionByIdInput = z.object({ id: TaskId });
export const PredictionListInput = z.object({
  task: TaskId.optional(),
  project: z.number().int().min(1).max(MAX_INT_ID).optional(),
});
export type PredictionListInput = z.infer<typeof PredictionListInput>;
