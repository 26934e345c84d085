/**
 * Projects, always within the caller's organization, in Label Studio's shape: every stored
 * setting, the counters computed from the tasks and annotations (never stored, so never stale),
 * the parsed label config and its flags, and `created_by` as a user object.
 */
import {
  checkLabelConfig,
  configEssentialDataChanged,
  configHasControlTags,
  configSuitableForBulkAnnotation,
  controlWeightsFor,
  type PageInput,
  PROJECT_COUNT_FIELDS,
  type Project,
  type ProjectConfigCheck,
  type ProjectConfigCheckInput,
  type ProjectCountField,
  type ProjectCounts,
  type ProjectCreateInput,
  type ProjectList,
  type ProjectListInput,
  type ProjectOrdering,
  type ProjectSummary,
  type ProjectUpdateInput,
  parseLabelConfig,
} from "@taskport/schema";
import {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  ilike,
  inArray,
  isNotNull,
  isNull,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import type { z } from "zod";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { prepared } from "../db/prepared";
import { predictions, projects, tasks, users } from "../db/schema";
import { transactionDb } from "../db/transaction";
import { notFound, validationError } from "../errors";
import { toUserSimple } from "./current-user";
import { configProblem, projectSummary } from "./project-data";
import { sanitizeInstruction } from "./sanitize";
import { emitProjectEvent, withProjectCreated, withProjectDeleted } from "./webhook-events";

type ProjectRow = typeof projects.$inferSelect;

export const PROJECT_NOT_FOUND = "No Project matches the given query.";
export const MODEL_VERSION_UNKNOWN =
  "Model version doesn't exist either as live model or as static predictions.";

type Counts = Record<ProjectCountField, number | null>;

// Every counter as an expression on the project row, so that lists can order by them too.
// Label Studio's definitions: annotations that were not cancelled count as annotations, the
// cancelled ones as skipped, ground truth counts annotations marked so. The subqueries name
// their tables explicitly: Drizzle leaves columns unqualified in a one-table query, where
// "id" inside a subquery would mean the subquery's own.
const P = sql.raw(`"projects"`);
const annotationsOf = (condition: string) =>
  sql<number>`(select count(*) from annotations sa where sa.project_id = ${P}.id and ${sql.raw(condition)})`;
const COUNT_SQL: Record<ProjectCountField, SQL<number>> = {
  task_number: sql<number>`${P}.task_number`,
  finished_task_number: sql<number>`(select count(*) from tasks st where st.project_id = ${P}.id and st.is_labeled)`,
  total_predictions_number: sql<number>`(select count(*) from predictions sp where sp.project_id = ${P}.id)`,
  total_annotations_number: annotationsOf("not sa.was_cancelled"),
  num_tasks_with_annotations: sql<number>`(select count(distinct sa.task_id) from annotations sa where sa.project_id = ${P}.id and not sa.was_cancelled)`,
  useful_annotation_number: annotationsOf("not sa.was_cancelled"),
  ground_truth_number: annotationsOf("sa.ground_truth"),
  skipped_annotations_number: annotationsOf("sa.was_cancelled"),
};
const COUNT_FIELDS = Object.keys(COUNT_SQL) as ProjectCountField[];

/**
 * The caller's queue: tasks still open, plus the ones the caller annotated (`queue_total`);
 * tasks the caller annotated (`queue_done`; with REQUEUE_FOR_ME, skipping does not count).
 */
function queueSql(viewer: number) {
  return {
    queueTotal: sql<number>`(select count(*) from tasks st where st.project_id = ${P}.id and (not st.is_labeled or exists (select 1 from annotations sa where sa.task_id = st.id and sa.completed_by = ${viewer})))`,
    queueDone: sql<number>`(select count(distinct sa.task_id) from annotations sa where sa.project_id = ${P}.id and sa.completed_by = ${viewer} and (${P}.skip_queue <> 'REQUEUE_FOR_ME' or not sa.was_cancelled))`,
  };
}

function projectSelection(viewer: number, include?: readonly ProjectCountField[]) {
  const counts = Object.fromEntries(
    COUNT_FIELDS.map((field) => [
      field,
      (include && !include.includes(field) ? sql`null` : COUNT_SQL[field]).mapWith((v) =>
        v === null ? null : Number(v),
      ),
    ]),
  ) as Record<ProjectCountField, SQL<number | null>>;
  const queue = queueSql(viewer);
  return {
    project: getTableColumns(projects),
    creatorId: users.id,
    creatorEmail: users.email,
    counts,
    queueTotal: queue.queueTotal.mapWith(Number),
    queueDone: queue.queueDone.mapWith(Number),
  };
}

interface SelectedProject {
  project: ProjectRow;
  creatorId: number | null;
  creatorEmail: string | null;
  counts: Counts;
  queueTotal: number;
  queueDone: number;
}

/** A project row and its computed fields, in Label Studio's field order. */
export function toProject(selected: SelectedProject): Project {
  const { project: row, counts } = selected;
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    label_config: row.labelConfig,
    expert_instruction: row.expertInstruction,
    show_instruction: row.showInstruction,
    show_skip_button: row.showSkipButton,
    enable_empty_annotation: row.enableEmptyAnnotation,
    show_annotation_history: row.showAnnotationHistory,
    organization: row.organizationId,
    color: row.color,
    maximum_annotations: row.maximumAnnotations,
    is_published: row.isPublished,
    model_version: row.modelVersion,
    is_draft: row.isDraft,
    created_by:
      selected.creatorId !== null && selected.creatorEmail !== null
        ? toUserSimple({ id: selected.creatorId, email: selected.creatorEmail })
        : null,
    created_at: row.createdAt,
    min_annotations_to_start_training: row.minAnnotationsToStartTraining,
    start_training_on_annotation_update: row.minAnnotationsToStartTraining > 0,
    show_collab_predictions: row.showCollabPredictions,
    num_tasks_with_annotations: counts.num_tasks_with_annotations,
    task_number: counts.task_number,
    useful_annotation_number: counts.useful_annotation_number,
    ground_truth_number: counts.ground_truth_number,
    skipped_annotations_number: counts.skipped_annotations_number,
    total_annotations_number: counts.total_annotations_number,
    total_predictions_number: counts.total_predictions_number,
    sampling: row.sampling,
    show_ground_truth_first: row.showGroundTruthFirst,
    annotator_evaluation_enabled: row.annotatorEvaluationEnabled,
    show_overlap_first: row.showOverlapFirst,
    overlap_cohort_percentage: row.overlapCohortPercentage,
    task_data_login: row.taskDataLogin,
    task_data_password: row.taskDataPassword,
    control_weights: row.controlWeights,
    parsed_label_config: parseLabelConfig(row.labelConfig) as Project["parsed_label_config"],
    evaluate_predictions_automatically: row.evaluatePredictionsAutomatically,
    config_has_control_tags: configHasControlTags(row.labelConfig),
    skip_queue: row.skipQueue,
    reveal_preannotations_interactively: row.revealPreannotationsInteractively,
    pinned_at: row.pinnedAt,
    finished_task_number: counts.finished_task_number,
    queue_total: selected.queueTotal,
    queue_done: selected.queueDone,
    config_suitable_for_bulk_annotation: configSuitableForBulkAnnotation(row.labelConfig),
    state: null,
  };
}

function checkConfig(labelConfig: string): void {
  const check = checkLabelConfig(labelConfig);
  if (!check.ok) throw validationError({ label_config: [check.error] });
}

type Settable = Partial<z.output<typeof ProjectCreateInput>>;

/** The stored columns a create or an update sets, from the parsed input. */
function settings(input: Settable): Partial<typeof projects.$inferInsert> {
  const minimum =
    input.start_training_on_annotation_update !== undefined
      ? Number(input.start_training_on_annotation_update)
      : input.min_annotations_to_start_training;
  return {
    title: input.title === undefined ? undefined : (input.title ?? ""),
    description: input.description === undefined ? undefined : (input.description ?? ""),
    labelConfig: input.label_config,
    expertInstruction:
      input.expert_instruction === undefined || input.expert_instruction === null
        ? input.expert_instruction
        : sanitizeInstruction(input.expert_instruction),
    showInstruction: input.show_instruction,
    showSkipButton: input.show_skip_button,
    enableEmptyAnnotation: input.enable_empty_annotation,
    showAnnotationHistory: input.show_annotation_history,
    color: input.color,
    maximumAnnotations: input.maximum_annotations,
    isPublished: input.is_published,
    modelVersion: input.model_version,
    isDraft: input.is_draft,
    minAnnotationsToStartTraining: minimum,
    showCollabPredictions: input.show_collab_predictions,
    sampling: input.sampling,
    showGroundTruthFirst: input.show_ground_truth_first,
    annotatorEvaluationEnabled: input.annotator_evaluation_enabled,
    showOverlapFirst: input.show_overlap_first,
    overlapCohortPercentage: input.overlap_cohort_percentage,
    taskDataLogin: input.task_data_login,
    taskDataPassword: input.task_data_password,
    evaluatePredictionsAutomatically: input.evaluate_predictions_automatically,
    skipQueue: input.skip_queue,
    revealPreannotationsInteractively: input.reveal_preannotations_interactively,
    pinnedAt: input.pinned_at,
  };
}

export async function createProject(
  db: Db,
  actor: Actor,
  input: z.output<typeof ProjectCreateInput>,
): Promise<Project> {
  checkConfig(input.label_config);
  const [row] = await withProjectCreated(db, actor.organizationId, (tx) =>
    tx
      .insert(projects)
      .values({
        ...settings(input),
        organizationId: actor.organizationId,
        createdBy: actor.userId,
        title: input.title ?? "",
        labelConfig: input.label_config,
        controlWeights: controlWeightsFor(input.label_config, input.control_weights),
      })
      .returning({ id: projects.id }),
  );
  if (!row) throw new Error("project insert returned no row");
  return getProject(db, actor, row.id);
}

/** The project row if it belongs to the caller's organization. */
export async function findProject(
  db: Db,
  actor: Actor,
  id: number,
): Promise<ProjectRow | undefined> {
  const query = prepared(db, "find_project", (d) =>
    d
      .select()
      .from(projects)
      .where(
        and(
          eq(projects.id, sql.placeholder("id")),
          eq(projects.organizationId, sql.placeholder("organizationId")),
        ),
      )
      .prepare("find_project"),
  );
  const [row] = await query.execute({ id, organizationId: actor.organizationId });
  return row;
}

async function selectProjects(
  db: Db,
  actor: Actor,
  where: SQL | undefined,
  options: {
    include?: readonly ProjectCountField[];
    order?: SQL[];
    limit?: number;
    offset?: number;
  } = {},
): Promise<Project[]> {
  const query = db
    .select(projectSelection(actor.userId, options.include))
    .from(projects)
    .leftJoin(users, eq(users.id, projects.createdBy))
    .where(and(eq(projects.organizationId, actor.organizationId), where))
    .orderBy(...(options.order ?? []))
    .$dynamic();
  if (options.limit !== undefined) query.limit(options.limit).offset(options.offset ?? 0);
  const rows = await query;
  return rows.map((selected) => toProject(selected as SelectedProject));
}

export async function getProject(
  db: Db,
  actor: Actor,
  id: number,
  include?: readonly ProjectCountField[],
): Promise<Project> {
  const [project] = await selectProjects(db, actor, eq(projects.id, id), { include });
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  return project;
}

/** Throws NOT_FOUND for a page past the last (page 1 always exists). */
export function checkPage(page: PageInput, total: number): void {
  if (page.page > 1 && (page.page - 1) * page.page_size >= total) throw notFound("Invalid page.");
}

// Columns a list can be ordered by; counters order by their expressions.
const ORDER_COLUMNS: Record<
  Exclude<ProjectOrdering["field"], ProjectCountField>,
  SQL | typeof projects.id
> = {
  id: projects.id,
  title: sql`${projects.title}`,
  description: sql`${projects.description}`,
  label_config: sql`${projects.labelConfig}`,
  parsed_label_config: sql`${projects.labelConfig}`,
  expert_instruction: sql`${projects.expertInstruction}`,
  show_instruction: sql`${projects.showInstruction}`,
  show_skip_button: sql`${projects.showSkipButton}`,
  enable_empty_annotation: sql`${projects.enableEmptyAnnotation}`,
  show_annotation_history: sql`${projects.showAnnotationHistory}`,
  organization: sql`${projects.organizationId}`,
  color: sql`${projects.color}`,
  maximum_annotations: sql`${projects.maximumAnnotations}`,
  is_published: sql`${projects.isPublished}`,
  model_version: sql`${projects.modelVersion}`,
  is_draft: sql`${projects.isDraft}`,
  created_by: sql`${projects.createdBy}`,
  created_at: sql`${projects.createdAt}`,
  min_annotations_to_start_training: sql`${projects.minAnnotationsToStartTraining}`,
  show_collab_predictions: sql`${projects.showCollabPredictions}`,
  sampling: sql`${projects.sampling}`,
  show_ground_truth_first: sql`${projects.showGroundTruthFirst}`,
  annotator_evaluation_enabled: sql`${projects.annotatorEvaluationEnabled}`,
  show_overlap_first: sql`${projects.showOverlapFirst}`,
  overlap_cohort_percentage: sql`${projects.overlapCohortPercentage}`,
  task_data_login: sql`${projects.taskDataLogin}`,
  task_data_password: sql`${projects.taskDataPassword}`,
  control_weights: sql`${projects.controlWeights}`,
  evaluate_predictions_automatically: sql`${projects.evaluatePredictionsAutomatically}`,
  skip_queue: sql`${projects.skipQueue}`,
  reveal_preannotations_interactively: sql`${projects.revealPreannotationsInteractively}`,
  pinned_at: sql`${projects.pinnedAt}`,
};

function orderExpression({ field, descending }: ProjectOrdering): SQL {
  const expression =
    field in COUNT_SQL
      ? COUNT_SQL[field as ProjectCountField]
      : ORDER_COLUMNS[field as keyof typeof ORDER_COLUMNS];
  return descending ? desc(expression) : asc(expression);
}

/** `%` and `_` match themselves in a title filter, as Django's `icontains` has them. */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listProjects(
  db: Db,
  actor: Actor,
  input: z.output<typeof ProjectListInput>,
): Promise<ProjectList> {
  const conditions: (SQL | undefined)[] = [];
  if (input.ids) conditions.push(inArray(projects.id, input.ids.length ? input.ids : [0]));
  if (input.title) conditions.push(ilike(projects.title, containing(input.title)));
  if (input.search) {
    conditions.push(
      or(
        ilike(projects.title, containing(input.search)),
        ilike(projects.description, containing(input.search)),
      ),
    );
  }
  if (input.filter === "pinned_only") conditions.push(isNotNull(projects.pinnedAt));
  if (input.filter === "exclude_pinned") conditions.push(isNull(projects.pinnedAt));
  const where = and(...conditions);
  const [counted] = await db
    .select({ n: count() })
    .from(projects)
    .where(and(eq(projects.organizationId, actor.organizationId), where));
  const total = counted?.n ?? 0;
  checkPage(input, total);
  // Label Studio's order: pinned projects first, then the newest. An `ordering` replaces it.
  const order = input.ordering?.length
    ? [...input.ordering.map(orderExpression), desc(projects.id)]
    : [
        sql`${projects.pinnedAt} desc nulls last`,
        sql`${projects.createdAt} desc nulls last`,
        desc(projects.id),
      ];
  const results = await selectProjects(db, actor, where, {
    include: input.include,
    order,
    limit: input.page_size,
    offset: (input.page - 1) * input.page_size,
  });
  return { count: total, results };
}

/** The counters alone of each project of a list (Label Studio's `/api/projects/counts/`). */
export async function listProjectCounts(
  db: Db,
  actor: Actor,
  input: z.output<typeof ProjectListInput>,
): Promise<{ count: number; results: ProjectCounts[] }> {
  const { count: total, results } = await listProjects(db, actor, input);
  return {
    count: total,
    results: results.map((project) => ({
      id: project.id,
      ...(Object.fromEntries(PROJECT_COUNT_FIELDS.map((field) => [field, project[field]])) as Omit<
        ProjectCounts,
        "id"
      >),
    })),
  };
}

/** Whether a model version names predictions of the project (Taskport has no ML backends). */
async function modelVersionExists(db: Db, projectId: number, version: string): Promise<boolean> {
  const [found] = await db
    .select({ id: predictions.id })
    .from(predictions)
    .where(and(eq(predictions.projectId, projectId), eq(predictions.modelVersion, version)))
    .limit(1);
  return found !== undefined;
}

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/**
 * Task overlaps after the project's overlap settings changed, as Label Studio rearranges them:
 * a new `maximum_annotations` goes to the tasks that had overlap (or to all, or through the
 * cohort), and a cohort below 100% keeps the first tasks by annotations at full overlap, the
 * rest at 1. Then `is_labeled` follows: a task is labeled when its annotations reach its
 * overlap.
 */
async function rearrangeOverlap(
  tx: Tx,
  project: ProjectRow,
  maximumChanged: boolean,
  cohortChanged: boolean,
): Promise<void> {
  const max = project.maximumAnnotations;
  const cohort = async () => {
    const must = Math.floor((project.taskNumber * project.overlapCohortPercentage) / 100 + 0.5);
    await tx.execute(sql`
      with ranked as (
        select id, total_annotations >= ${max}::int as is_full,
          row_number() over (
            partition by total_annotations >= ${max}::int
            order by total_annotations + cancelled_annotations desc, id
          ) as position
        from tasks where project_id = ${project.id}
      ), totals as (select count(*) filter (where is_full) as full_count from ranked)
      update tasks t set overlap = case
        when r.is_full or r.position <= greatest(${must}::int - totals.full_count, 0)
        then ${max}::int else 1 end
      from ranked r, totals where t.id = r.id`);
  };
  if (maximumChanged && (!cohortChanged || max === 1)) {
    const [overlapped] = await tx
      .select({ id: tasks.id })
      .from(tasks)
      .where(and(eq(tasks.projectId, project.id), sql`${tasks.overlap} > 1`))
      .limit(1);
    if (overlapped) {
      await tx
        .update(tasks)
        .set({ overlap: max })
        .where(and(eq(tasks.projectId, project.id), sql`${tasks.overlap} > 1`));
    } else if (project.overlapCohortPercentage < 100) {
      await cohort();
    } else {
      await tx.update(tasks).set({ overlap: max }).where(eq(tasks.projectId, project.id));
    }
  } else if (cohortChanged && max > 1) {
    await cohort();
  } else {
    return;
  }
  await tx
    .update(tasks)
    .set({ isLabeled: sql`${tasks.totalAnnotations} >= ${tasks.overlap}` })
    .where(
      and(
        eq(tasks.projectId, project.id),
        sql`${tasks.isLabeled} is distinct from (${tasks.totalAnnotations} >= ${tasks.overlap})`,
      ),
    );
}

export async function updateProject(
  db: Db,
  actor: Actor,
  input: z.output<typeof ProjectUpdateInput>,
): Promise<Project> {
  const { id, ...fields } = input;
  await db.transaction(async (tx) => {
    // The row lock orders this update after creates in flight, whose counters it reads.
    const [current] = await tx
      .select()
      .from(projects)
      .where(and(eq(projects.id, id), eq(projects.organizationId, actor.organizationId)))
      .for("update");
    if (!current) throw notFound(PROJECT_NOT_FOUND);
    const labelConfig = fields.label_config ?? current.labelConfig;
    if (fields.label_config !== undefined && fields.label_config !== current.labelConfig) {
      checkConfig(fields.label_config);
      const problem = await configProblem(tx as unknown as Db, current, fields.label_config, false);
      if (problem) throw validationError({ label_config: [problem] });
    }
    const version = fields.model_version;
    if (
      version !== undefined &&
      version !== null &&
      version !== "" &&
      version !== current.modelVersion &&
      !(await modelVersionExists(tx as unknown as Db, current.id, version))
    ) {
      throw validationError({ model_version: [MODEL_VERSION_UNKNOWN] });
    }
    const changes = settings(fields);
    if (fields.show_collab_predictions === false) changes.modelVersion = "";
    const weightsGiven = fields.control_weights !== undefined && fields.control_weights !== null;
    if (
      weightsGiven ||
      labelConfig !== current.labelConfig ||
      Object.keys(current.controlWeights).length === 0
    ) {
      changes.controlWeights = controlWeightsFor(
        labelConfig,
        weightsGiven ? fields.control_weights : current.controlWeights,
      );
    }
    const [updated] = await tx
      .update(projects)
      .set({ ...changes, updatedAt: new Date() })
      .where(eq(projects.id, current.id))
      .returning();
    if (!updated) throw notFound(PROJECT_NOT_FOUND);
    await rearrangeOverlap(
      tx,
      updated,
      updated.maximumAnnotations !== current.maximumAnnotations,
      updated.overlapCohortPercentage !== current.overlapCohortPercentage,
    );
    await emitProjectEvent(transactionDb(tx, db), actor.organizationId, id, "PROJECT_UPDATED");
  });
  return getProject(db, actor, id);
}

export async function deleteProject(db: Db, actor: Actor, id: number): Promise<void> {
  const deleted = await withProjectDeleted(db, actor.organizationId, (tx) =>
    tx
      .delete(projects)
      .where(and(eq(projects.id, id), eq(projects.organizationId, actor.organizationId)))
      .returning({ id: projects.id }),
  );
  if (deleted.length === 0) throw notFound(PROJECT_NOT_FOUND);
}

/** `POST /api/projects/validate/`: a label config checked on its own. */
export function validateLabelConfig(labelConfig: string): void {
  checkConfig(labelConfig);
}

/**
 * `POST /api/projects/{id}/validate/`: a label config checked against the project's data and
 * annotations, strictly (labels in use may not go), and whether it changes their meaning.
 */
export async function checkProjectConfig(
  db: Db,
  actor: Actor,
  input: ProjectConfigCheckInput,
): Promise<ProjectConfigCheck> {
  const project = await findProject(db, actor, input.id);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  if (input.label_config === "") {
    throw validationError({}, ["Label config is not set or is empty"]);
  }
  const check = checkLabelConfig(input.label_config);
  if (!check.ok) throw validationError({}, [check.error]);
  const problem = await configProblem(db, project, input.label_config, true);
  if (problem) throw validationError({}, [problem]);
  return {
    config_essential_data_has_changed: configEssentialDataChanged(
      input.label_config,
      project.labelConfig,
    ),
    label_config: input.label_config,
  };
}

export async function getProjectSummary(db: Db, actor: Actor, id: number): Promise<ProjectSummary> {
  const project = await findProject(db, actor, id);
  if (!project) throw notFound(PROJECT_NOT_FOUND);
  return projectSummary(db, project);
}
