/**
 * What a project's tasks and annotations hold, computed from the rows (Label Studio keeps these
 * as a running summary that drifts; here they are always the data's): the data keys of its
 * tasks, the control tags and labels its annotations use. The project summary shows them, and
 * a new label config is checked against them.
 */
import {
  checkLabelConfig,
  type ParsedLabelConfig,
  type ProjectSummary,
  parseLabelConfig,
} from "@taskport/schema";
import { sql } from "drizzle-orm";
import type { Db } from "../db/client";

type ProjectRef = { id: number; createdAt: Date; taskNumber: number };

interface Row extends Record<string, unknown> {}

async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows?: Row[] } | Row[];
  return (Array.isArray(result) ? result : (result.rows ?? [])) as T[];
}

// Result items Label Studio counts: objects with a from_name, a to_name and a type other than
// relations and pairwise comparisons.
const RESULT_ITEMS = (projectId: number) => sql`
  from annotations a
  cross join lateral jsonb_array_elements(
    case when jsonb_typeof(a.result) = 'array' then a.result else '[]'::jsonb end
  ) r
  where a.project_id = ${projectId}
    and jsonb_typeof(r) = 'object'
    and r ? 'from_name' and r ? 'to_name'
    and coalesce(r->>'type', '') not in ('', 'relation', 'pairwise')`;

/** `{"from|to|type": results}` of every annotation of the project. */
export async function createdAnnotations(
  db: Db,
  projectId: number,
): Promise<Record<string, number>> {
  const found = await rows<{ key: string; n: string | number }>(
    db,
    sql`select (r->>'from_name') || '|' || (r->>'to_name') || '|' || (r->>'type') as key,
          count(*) as n ${RESULT_ITEMS(projectId)}
        group by 1 order by 1`,
  );
  return Object.fromEntries(found.map((row) => [row.key, Number(row.n)]));
}

/**
 * `{from_name: {label: results}}`: the labels each control tag's results carry, from the
 * result's `value[type]` list (video rectangles keep theirs under `labels`; a taxonomy's are
 * paths, flattened; text areas hold texts, not labels).
 */
export async function createdLabels(
  db: Db,
  projectId: number,
): Promise<Record<string, Record<string, number>>> {
  const found = await rows<{ from_name: string; label: string | null; n: string | number }>(
    db,
    sql`with items as (
          select r->>'from_name' as from_name, r->>'type' as type,
            r->'value'->(case when r->>'type' = 'videorectangle' then 'labels' else r->>'type' end)
              as labels
          ${RESULT_ITEMS(projectId)}
        )
        select i.from_name, x #>> '{}' as label, count(x) as n
        from items i
        left join lateral jsonb_array_elements(
          case when jsonb_typeof(i.labels) = 'array' and i.type <> 'text' then i.labels
               else '[]'::jsonb end
        ) e on true
        left join lateral jsonb_array_elements(
          case when i.type = 'taxonomy' and jsonb_typeof(e) = 'array' then e
               when e is null then '[]'::jsonb
               else jsonb_build_array(e) end
        ) x on true
        group by 1, 2 order by 1, 2`,
  );
  const labels: Record<string, Record<string, number>> = {};
  for (const row of found) {
    const byLabel = labels[row.from_name] ?? {};
    labels[row.from_name] = byLabel;
    if (row.label !== null) byLabel[row.label] = Number(row.n);
  }
  return labels;
}

/** Each top-level data key with the number of tasks that have it, in order of appearance. */
async function dataColumns(db: Db, projectId: number): Promise<Record<string, number>> {
  const found = await rows<{ key: string; n: string | number }>(
    db,
    sql`select k as key, count(*) as n
        from tasks t cross join lateral jsonb_object_keys(t.data) k
        where t.project_id = ${projectId}
        group by k order by min(t.id), k`,
  );
  return Object.fromEntries(found.map((row) => [row.key, Number(row.n)]));
}

/** Label Studio's project summary, computed from the project's rows. */
export async function projectSummary(db: Db, project: ProjectRef): Promise<ProjectSummary> {
  const [allDataColumns, annotationsByType, labels] = await Promise.all([
    dataColumns(db, project.id),
    createdAnnotations(db, project.id),
    createdLabels(db, project.id),
  ]);
  const common = Object.entries(allDataColumns)
    .filter(([, n]) => n === project.taskNumber)
    .map(([key]) => key)
    .sort();
  return {
    project: project.id,
    created_at: project.createdAt,
    all_data_columns: allDataColumns,
    common_data_columns: project.taskNumber > 0 ? common : [],
    created_annotations: annotationsByType,
    created_labels: labels,
    created_labels_drafts: {},
  };
}

/** Data keys (dotted for nested objects) that some task of the project lacks. */
async function missingDataKeys(db: Db, projectId: number, variables: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const variable of variables) {
    const path = `{${variable
      .split(".")
      .map((part) => `"${part.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`)
      .join(",")}}`;
    const [found] = await rows<{ lacking: boolean }>(
      db,
      sql`select exists(
            select 1 from tasks
            where project_id = ${projectId} and (data #> ${path}::text[]) is null
          ) as lacking`,
    );
    if (found?.lacking) missing.push(variable);
  }
  return missing;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count > 1 ? "s" : ""}`;
}

/**
 * Why a new label config does not fit the project's data, or null when it fits. Taskport checks
 * what Label Studio checks: annotations made with control tags, targets or types the config no
 * longer has, a control tag removed while annotations use it, and (`strict`, the validate
 * endpoint) labels removed while annotations use them. It also checks the data keys the config
 * reads against the tasks (Label Studio leaves that check out), so every task stays valid.
 */
export async function configProblem(
  db: Db,
  project: { id: number; taskNumber: number },
  labelConfig: string,
  strict: boolean,
): Promise<string | null> {
  if (project.taskNumber === 0) return null;
  const check = checkLabelConfig(labelConfig);
  if (!check.ok) return check.error;
  const missing = await missingDataKeys(db, project.id, check.variables);
  if (missing.length > 0) {
    return `These fields are not present in the data: ${missing.join(",")}`;
  }
  const parsed = parseLabelConfig(labelConfig);
  // Label Studio checks annotations only against a config that has control tags.
  if (Object.keys(parsed).length === 0) return null;
  const used = await createdAnnotations(db, project.id);
  const incompatible = annotationProblems(parsed, used);
  if (incompatible.length > 0) {
    return `Created annotations are incompatible with provided labeling schema, we found:\n${incompatible.join("\n")}`;
  }
  return labelProblem(parsed, await createdLabels(db, project.id), strict);
}

function annotationProblems(parsed: ParsedLabelConfig, used: Record<string, number>): string[] {
  const tuples = new Set<string>();
  const types = new Set<string>();
  const targets = new Set<string>();
  for (const [name, control] of Object.entries(parsed)) {
    types.add(control.type.toLowerCase());
    for (const target of control.to_name) {
      tuples.add(`${name}|${target}|${control.type.toLowerCase()}`);
      targets.add(target);
    }
  }
  const problems: string[] = [];
  for (const [key, count] of Object.entries(used)) {
    if (tuples.has(key)) continue;
    const [fromName = "", toName = "", type = ""] = key.split("|");
    // A text area's results may name other targets (Label Studio's exception too).
    if (type.toLowerCase() === "textarea") continue;
    if (!(fromName in parsed) || !targets.has(toName) || !types.has(type.toLowerCase())) {
      problems.push(`${count} with from_name=${fromName}, to_name=${toName}, type=${type}`);
    }
  }
  return problems;
}

function labelProblem(
  parsed: ParsedLabelConfig,
  used: Record<string, Record<string, number>>,
  strict: boolean,
): string | null {
  for (const [name, byLabel] of Object.entries(used)) {
    const total = Object.values(byLabel).reduce((sum, n) => sum + n, 0);
    const control = parsed[name];
    if (total === 0) continue;
    if (!control) {
      return `There are ${total} annotation(s) created with tag "${name}", you can't remove it`;
    }
    if (!strict || control.dynamic_labels || control.type === "Taxonomy") continue;
    const known = new Set(control.labels);
    if (control.type === "VideoRectangle") {
      for (const other of Object.values(parsed)) for (const label of other.labels) known.add(label);
    }
    const removed = Object.keys(byLabel).filter((label) => !known.has(label));
    if (removed.length > 0) {
      const lines = removed.map(
        (label) => `${label} (${plural(byLabel[label] ?? 0, "annotation")})\n`,
      );
      return `These labels still exist in annotations or drafts:\n${lines.join("")}Please add labels to tag with name="${name}".`;
    }
  }
  return null;
}
