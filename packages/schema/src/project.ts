/**
 * Projects as Label Studio's project serializer writes them (every field, in its order) and the
 * settable fields with its rules and its words. REST and tRPC parse with these schemas; the
 * OpenAPI document is generated from them.
 */
import { z } from "zod";
import { ProjectId } from "./ids";
import { DEFAULT_LABEL_CONFIG } from "./label-config";
import { PageInput } from "./pagination";
import { StorableString, storableString } from "./storable-string";

export const PROJECT_SAMPLING = [
  "Sequential sampling",
  "Uniform sampling",
  "Uncertainty sampling",
] as const;
export const ProjectSampling = z.enum(PROJECT_SAMPLING);
export type ProjectSampling = z.infer<typeof ProjectSampling>;

export const SKIP_QUEUE = ["REQUEUE_FOR_ME", "REQUEUE_FOR_OTHERS", "IGNORE_SKIPPED"] as const;
export const SkipQueue = z.enum(SKIP_QUEUE);
export type SkipQueue = z.infer<typeof SkipQueue>;

/** Label Studio's limits on a project title (`PROJECT_TITLE_MIN_LEN`, `PROJECT_TITLE_MAX_LEN`). */
export const PROJECT_TITLE_MIN = 3;
export const PROJECT_TITLE_MAX = 50;

// Django REST framework's messages, which scripts written for Label Studio may match on.
const required = (input: unknown) =>
  input === undefined
    ? "This field is required."
    : input === null
      ? "This field may not be null."
      : undefined;
const drfBoolean = () =>
  z.boolean({ error: (issue) => required(issue.input) ?? "Must be a valid boolean." });
const drfString = (nullable = false) =>
  storableString({
    error: (issue) =>
      (nullable && issue.input === null ? undefined : required(issue.input)) ??
      "Not a valid string.",
  });
const drfInteger = (min: number, max: number) =>
  z
    .number({ error: (issue) => required(issue.input) ?? "A valid integer is required." })
    .int({ error: "A valid integer is required." })
    .min(min, { error: `Ensure this value is greater than or equal to ${min}.` })
    .max(max, { error: `Ensure this value is less than or equal to ${max}.` });
const drfChoice = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (issue) => required(issue.input) ?? `"${String(issue.input)}" is not a valid choice.`,
  });

/** `#RRGGBB`, as Label Studio's `validate_color` requires. */
export const ProjectColor = storableString({ error: 'Color must be in "#RRGGBB" format' }).regex(
  /^#[0-9A-Fa-f]{6}$/,
  { error: 'Color must be in "#RRGGBB" format' },
);

const DATETIME_FORMAT_ERROR =
  "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";

/** A date-time as DRF reads one: ISO 8601, UTC when no offset is given; or a Date (tRPC). */
export const DateTimeInput = z
  .union([z.date(), StorableString], { error: DATETIME_FORMAT_ERROR })
  .transform((value, ctx) => {
    if (value instanceof Date) return value;
    const match =
      /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
        value.trim(),
      );
    const iso = match && !match[1] && value.includes(":") ? `${value.trim()}Z` : value.trim();
    const date = match ? new Date(iso.replace(" ", "T")) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: "custom", message: DATETIME_FORMAT_ERROR });
      return z.NEVER;
    }
    return date;
  });

/** One control tag's weights in agreement metrics. */
export const ControlWeightInput = z.object(
  {
    overall: z.number({ error: "overall must be a number." }).optional(),
    type: StorableString.optional(),
    labels: z
      .record(StorableString, z.number({ error: "Label weights must be numbers." }))
      .optional(),
  },
  { error: "Each control tag's weights must be an object." },
);

export const ControlWeightsInput = z.record(StorableString, ControlWeightInput, {
  error: (issue) =>
    issue.input === null
      ? undefined
      : 'Expected an object of control tag weights, like {"label": {"overall": 1}}.',
});

/**
 * Every field a client may set, with Label Studio's default where the project starts from it.
 * `start_training_on_annotation_update` is Label Studio's alias that sets
 * `min_annotations_to_start_training`. Read-only fields a client sends are ignored.
 */
const settableFields = {
  title: drfString(true)
    .trim()
    .refine((title) => title.length === 0 || title.length >= PROJECT_TITLE_MIN, {
      error: `Ensure this field has at least ${PROJECT_TITLE_MIN} characters.`,
    })
    .refine((title) => title.length <= PROJECT_TITLE_MAX, {
      error: `Ensure this field has no more than ${PROJECT_TITLE_MAX} characters.`,
    })
    .nullable(),
  description: drfString(true).max(1_000_000).nullable(),
  label_config: drfString().max(1_000_000),
  expert_instruction: drfString(true).max(1_000_000).nullable(),
  show_instruction: drfBoolean(),
  show_skip_button: drfBoolean(),
  enable_empty_annotation: drfBoolean(),
  show_annotation_history: drfBoolean(),
  color: ProjectColor,
  maximum_annotations: drfInteger(1, 1000),
  is_published: drfBoolean(),
  model_version: drfString(true).max(10_000).nullable(),
  is_draft: drfBoolean(),
  min_annotations_to_start_training: drfInteger(0, 2147483647),
  start_training_on_annotation_update: z.union([z.boolean(), z.number().int().min(0)], {
    error: "Must be a valid boolean.",
  }),
  show_collab_predictions: drfBoolean(),
  sampling: drfChoice(PROJECT_SAMPLING),
  show_ground_truth_first: drfBoolean(),
  annotator_evaluation_enabled: drfBoolean(),
  show_overlap_first: drfBoolean(),
  overlap_cohort_percentage: drfInteger(0, 100),
  task_data_login: drfString(true)
    .max(256, { error: "Ensure this field has no more than 256 characters." })
    .nullable(),
  task_data_password: drfString(true)
    .max(256, { error: "Ensure this field has no more than 256 characters." })
    .nullable(),
  control_weights: ControlWeightsInput.nullable(),
  evaluate_predictions_automatically: drfBoolean(),
  skip_queue: drfChoice(SKIP_QUEUE),
  reveal_preannotations_interactively: drfBoolean(),
  pinned_at: DateTimeInput.nullable(),
};

/** Fields that a form or multipart body carries as strings (REST reads them as DRF does). */
export const PROJECT_FORM_FIELDS = {
  boolean: Object.entries(settableFields)
    .filter(([, schema]) => schema instanceof z.ZodBoolean)
    .map(([name]) => name),
  integer: [
    "maximum_annotations",
    "min_annotations_to_start_training",
    "overlap_cohort_percentage",
  ],
  json: ["control_weights"],
};

export const ProjectCreateInput = z.object({
  ...settableFields,
  title: settableFields.title.default(""),
  description: settableFields.description.default(""),
  label_config: settableFields.label_config.default(DEFAULT_LABEL_CONFIG),
  maximum_annotations: settableFields.maximum_annotations.default(1),
  expert_instruction: settableFields.expert_instruction.optional(),
  show_instruction: settableFields.show_instruction.optional(),
  show_skip_button: settableFields.show_skip_button.optional(),
  enable_empty_annotation: settableFields.enable_empty_annotation.optional(),
  show_annotation_history: settableFields.show_annotation_history.optional(),
  color: settableFields.color.optional(),
  is_published: settableFields.is_published.optional(),
  model_version: settableFields.model_version.optional(),
  is_draft: settableFields.is_draft.optional(),
  min_annotations_to_start_training: settableFields.min_annotations_to_start_training.optional(),
  start_training_on_annotation_update:
    settableFields.start_training_on_annotation_update.optional(),
  show_collab_predictions: settableFields.show_collab_predictions.optional(),
  sampling: settableFields.sampling.optional(),
  show_ground_truth_first: settableFields.show_ground_truth_first.optional(),
  annotator_evaluation_enabled: settableFields.annotator_evaluation_enabled.optional(),
  show_overlap_first: settableFields.show_overlap_first.optional(),
  overlap_cohort_percentage: settableFields.overlap_cohort_percentage.optional(),
  task_data_login: settableFields.task_data_login.optional(),
  task_data_password: settableFields.task_data_password.optional(),
  control_weights: settableFields.control_weights.optional(),
  evaluate_predictions_automatically: settableFields.evaluate_predictions_automatically.optional(),
  skip_queue: settableFields.skip_queue.optional(),
  reveal_preannotations_interactively:
    settableFields.reveal_preannotations_interactively.optional(),
  pinned_at: settableFields.pinned_at.optional(),
});
export type ProjectCreateInput = z.input<typeof ProjectCreateInput>;

export const ProjectUpdateInput = z.object(settableFields).partial().extend({ id: ProjectId });
export type ProjectUpdateInput = z.input<typeof ProjectUpdateInput>;

export const ProjectByIdInput = z.object({ id: ProjectId });
export type ProjectByIdInput = z.infer<typeof ProjectByIdInput>;

/** The counters a project list may be limited to with `include` (Label Studio's names). */
export const PROJECT_COUNT_FIELDS = [
  "task_number",
  "finished_task_number",
  "total_predictions_number",
  "total_annotations_number",
  "num_tasks_with_annotations",
  "useful_annotation_number",
  "ground_truth_number",
  "skipped_annotations_number",
] as const;
export type ProjectCountField = (typeof PROJECT_COUNT_FIELDS)[number];

/**
 * Fields a project list may be ordered by (`ordering=title,-created_at`): Django REST
 * framework's default, every serializer field that is not computed in Python. Unknown names are
 * ignored, as DRF ignores them.
 */
export const PROJECT_ORDERING_FIELDS = [
  "id",
  "title",
  "description",
  "label_config",
  "expert_instruction",
  "show_instruction",
  "show_skip_button",
  "enable_empty_annotation",
  "show_annotation_history",
  "organization",
  "color",
  "maximum_annotations",
  "is_published",
  "model_version",
  "is_draft",
  "created_by",
  "created_at",
  "min_annotations_to_start_training",
  "show_collab_predictions",
  "sampling",
  "show_ground_truth_first",
  "annotator_evaluation_enabled",
  "show_overlap_first",
  "overlap_cohort_percentage",
  "task_data_login",
  "task_data_password",
  "control_weights",
  "parsed_label_config",
  "evaluate_predictions_automatically",
  "skip_queue",
  "reveal_preannotations_interactively",
  "pinned_at",
  ...PROJECT_COUNT_FIELDS,
] as const;
export type ProjectOrderingField = (typeof PROJECT_ORDERING_FIELDS)[number];

export const ProjectOrdering = z.object({
  field: z.enum(PROJECT_ORDERING_FIELDS),
  descending: z.boolean(),
});
export type ProjectOrdering = z.infer<typeof ProjectOrdering>;

export const PinnedFilter = z.enum(["all", "pinned_only", "exclude_pinned"]);

export const ProjectListInput = PageInput.extend({
  /** Only these ids (Label Studio's `ids=1,2,3`). */
  ids: z.array(ProjectId).optional(),
  /** Titles containing this, case-insensitive. */
  title: StorableString.max(1000).optional(),
  /** Titles or descriptions containing this, case-insensitive. */
  search: StorableString.max(1000).optional(),
  /** Pinned projects only, or unpinned only. */
  filter: PinnedFilter.default("all"),
  /** Replaces the default order (pinned first, newest first), as DRF's OrderingFilter does. */
  ordering: z.array(ProjectOrdering).optional(),
  /** Compute only these counters; the others are null. */
  include: z.array(z.enum(PROJECT_COUNT_FIELDS)).optional(),
});
export type ProjectListInput = z.input<typeof ProjectListInput>;

/** Label Studio's short user object (`created_by` of a project, annotation authors). */
export const UserSimple = z.object({
  id: z.number().int(),
  first_name: z.string(),
  last_name: z.string(),
  username: z.string(),
  email: z.string(),
  avatar: z.string().nullable(),
});
export type UserSimple = z.infer<typeof UserSimple>;

const ParsedLabelConfigSchema = z.record(z.string(), z.unknown());
const ControlWeights = z.record(
  z.string(),
  z.object({ overall: z.number(), type: z.string(), labels: z.record(z.string(), z.number()) }),
);
const count = z.number().int().nullable();

/** A project: Label Studio's 46 fields, same names, same order, same types. */
export const Project = z.object({
  id: z.number().int(),
  title: z.string(),
  description: z.string().nullable(),
  label_config: z.string(),
  expert_instruction: z.string().nullable(),
  show_instruction: z.boolean(),
  show_skip_button: z.boolean(),
  enable_empty_annotation: z.boolean(),
  show_annotation_history: z.boolean(),
  organization: z.number().int(),
  color: z.string(),
  maximum_annotations: z.number().int(),
  is_published: z.boolean(),
  model_version: z.string().nullable(),
  is_draft: z.boolean(),
  created_by: UserSimple.nullable(),
  created_at: z.date(),
  min_annotations_to_start_training: z.number().int(),
  start_training_on_annotation_update: z.boolean(),
  show_collab_predictions: z.boolean(),
  num_tasks_with_annotations: count,
  task_number: count,
  useful_annotation_number: count,
  ground_truth_number: count,
  skipped_annotations_number: count,
  total_annotations_number: count,
  total_predictions_number: count,
  sampling: ProjectSampling,
  show_ground_truth_first: z.boolean(),
  annotator_evaluation_enabled: z.boolean(),
  show_overlap_first: z.boolean(),
  overlap_cohort_percentage: z.number().int(),
  task_data_login: z.string().nullable(),
  task_data_password: z.string().nullable(),
  control_weights: ControlWeights,
  parsed_label_config: ParsedLabelConfigSchema,
  evaluate_predictions_automatically: z.boolean(),
  config_has_control_tags: z.boolean(),
  skip_queue: SkipQueue,
  reveal_preannotations_interactively: z.boolean(),
  pinned_at: z.date().nullable(),
  finished_task_number: count,
  queue_total: z.number().int(),
  queue_done: z.number().int(),
  config_suitable_for_bulk_annotation: z.boolean(),
  /** Label Studio's workflow state, which it reports only behind feature flags: always null. */
  state: z.null(),
});
export type Project = z.infer<typeof Project>;

export const PROJECT_FIELDS = Object.keys(Project.shape) as (keyof Project)[];

export const ProjectList = z.object({
  count: z.number().int(),
  results: z.array(Project),
});
export type ProjectList = z.infer<typeof ProjectList>;

/** `GET /api/projects/counts/`: only the counters of each project (Label Studio's order). */
export const ProjectCounts = z.object({
  id: z.number().int(),
  ...Object.fromEntries(PROJECT_COUNT_FIELDS.map((field) => [field, count])),
} as { id: z.ZodNumber } & Record<ProjectCountField, typeof count>);
export type ProjectCounts = z.infer<typeof ProjectCounts>;

/** `POST /api/projects/validate/` and `/api/projects/{id}/validate/`. */
export const ProjectLabelConfigInput = z.object({
  label_config: storableString({
    error: (issue) => required(issue.input) ?? "Not a valid string.",
  }).max(1_000_000),
});
export type ProjectLabelConfigInput = z.infer<typeof ProjectLabelConfigInput>;

export const ProjectConfigCheckInput = ProjectLabelConfigInput.extend({ id: ProjectId });
export type ProjectConfigCheckInput = z.infer<typeof ProjectConfigCheckInput>;

/**
 * The answer to a project's config check: whether annotations' meaning changes. Taskport adds
 * the checked config, which SDK 1.x's `ProjectLabelConfig` model requires.
 */
export const ProjectConfigCheck = z.object({
  config_essential_data_has_changed: z.boolean(),
  label_config: z.string(),
});
export type ProjectConfigCheck = z.infer<typeof ProjectConfigCheck>;

/** `GET /api/projects/{id}/summary/`: what the project's data and annotations hold. */
export const ProjectSummary = z.object({
  project: z.number().int(),
  created_at: z.date(),
  all_data_columns: z.record(z.string(), z.number().int()),
  common_data_columns: z.array(z.string()),
  created_annotations: z.record(z.string(), z.number().int()),
  created_labels: z.record(z.string(), z.record(z.string(), z.number().int())),
  created_labels_drafts: z.record(z.string(), z.record(z.string(), z.number().int())),
});
export type ProjectSummary = z.infer<typeof ProjectSummary>;
