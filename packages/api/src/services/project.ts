/** Projects, always within the caller's organization. */
import type {
  PageInput,
  Project,
  ProjectCreateInput,
  ProjectList,
  ProjectListInput,
  ProjectUpdateInput,
} from "@taskport/schema";
import { checkLabelConfig } from "@taskport/schema";
import { and, count, desc, eq, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { prepared } from "../db/prepared";
import { projects } from "../db/schema";
import { notFound, validationError } from "../errors";

type ProjectRow = typeof projects.$inferSelect;

export const PROJECT_NOT_FOUND = "No Project matches the given query.";

export function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    label_config: row.labelConfig,
    maximum_annotations: row.maximumAnnotations,
    organization: row.organizationId,
    created_by: row.createdBy,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    task_number: row.taskNumber,
  };
}

function checkConfig(labelConfig: string): void {
  const check = checkLabelConfig(labelConfig);
  if (!check.ok) throw validationError({ label_config: [check.error] });
}

export async function createProject(
  db: Db,
  actor: Actor,
  input: z.output<typeof ProjectCreateInput>,
): Promise<Project> {
  checkConfig(input.label_config);
  const [row] = await db
    .insert(projects)
    .values({
      organizationId: actor.organizationId,
      createdBy: actor.userId,
      title: input.title,
      description: input.description,
      labelConfig: input.label_config,
      maximumAnnotations: input.maximum_annotations,
    })
    .returning();
  if (!row) throw new Error("project insert returned no row");
  return toProject(row);
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

export async function getProject(db: Db, actor: Actor, id: number): Promise<Project> {
  const row = await findProject(db, actor, id);
  if (!row) throw notFound(PROJECT_NOT_FOUND);
  return toProject(row);
}

/** Throws NOT_FOUND for a page past the last (page 1 always exists). */
export function checkPage(page: PageInput, total: number): void {
  if (page.page > 1 && (page.page - 1) * page.page_size >= total) throw notFound("Invalid page.");
}

export async function listProjects(
  db: Db,
  actor: Actor,
  input: z.output<typeof ProjectListInput>,
): Promise<ProjectList> {
  const where = eq(projects.organizationId, actor.organizationId);
  const [counted] = await db.select({ n: count() }).from(projects).where(where);
  const total = counted?.n ?? 0;
  checkPage(input, total);
  const rows = await db
    .select()
    .from(projects)
    .where(where)
    .orderBy(desc(projects.id))
    .limit(input.page_size)
    .offset((input.page - 1) * input.page_size);
  return { count: total, results: rows.map(toProject) };
}

export async function updateProject(
  db: Db,
  actor: Actor,
  input: ProjectUpdateInput,
): Promise<Project> {
  if (input.label_config !== undefined) checkConfig(input.label_config);
  const [row] = await db
    .update(projects)
    .set({
      title: input.title,
      description: input.description,
      labelConfig: input.label_config,
      maximumAnnotations: input.maximum_annotations,
      updatedAt: new Date(),
    })
    .where(and(eq(projects.id, input.id), eq(projects.organizationId, actor.organizationId)))
    .returning();
  if (!row) throw notFound(PROJECT_NOT_FOUND);
  return toProject(row);
}

export async function deleteProject(db: Db, actor: Actor, id: number): Promise<void> {
  const deleted = await db
    .delete(projects)
    .where(and(eq(projects.id, id), eq(projects.organizationId, actor.organizationId)))
    .returning({ id: projects.id });
  if (deleted.length === 0) throw notFound(PROJECT_NOT_FOUND);
}
