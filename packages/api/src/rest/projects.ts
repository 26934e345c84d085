/**
 * /api/projects/: Label Studio's project endpoints over services/project.ts: the list with its
 * filters (`ids`, `title`, `search`, `filter`, `ordering`, `include`), the counters-only list,
 * create, read, update, delete, the label config checks (`validate/`) and the summary.
 * Settings Taskport does not keep (`workspace`, ...) are ignored, as DRF ignores unknown fields.
 */
import {
  PROJECT_COUNT_FIELDS,
  PROJECT_FORM_FIELDS,
  PROJECT_ORDERING_FIELDS,
  ProjectConfigCheck,
  type ProjectCountField,
  ProjectCounts,
  ProjectId,
  ProjectLabelConfigInput,
  type ProjectOrdering,
  ProjectSummary,
} from "@taskport/schema";
import { z } from "zod";
import { notFound } from "../errors";
import {
  checkProjectConfig,
  createProject,
  deleteProject,
  findProject,
  getProject,
  getProjectSummary,
  listProjectCounts,
  listProjects,
  PROJECT_NOT_FOUND,
  updateProject,
  validateLabelConfig,
} from "../services/project";
import { pageUrl } from "./paging";
import { drfMessages, publicRoute, route } from "./route";
import {
  described,
  ProjectCreateBody,
  ProjectOut,
  ProjectPageOut,
  ProjectUpdateBody,
  pageParams,
  pathId,
  queryValue,
  restSchemas,
} from "./schemas";

export const ProjectPath = z.object({ id: pathId("project", PROJECT_NOT_FOUND) });

/** Comma-separated values of a query parameter, trimmed, empty ones dropped. */
const listValue = queryValue.optional().transform((raw) => {
  const values = (raw ?? "")
    .split(",")
    .map((value) => value.trim())
    .filter(Boolean);
  return values.length ? values : undefined;
});

/** `include=task_number,...`: the counters to compute; unknown names are ignored. */
const IncludeQuery = described(
  listValue.transform((names) =>
    names?.filter((name): name is ProjectCountField =>
      (PROJECT_COUNT_FIELDS as readonly string[]).includes(name),
    ),
  ),
  `Compute only these counters (comma-separated: ${PROJECT_COUNT_FIELDS.join(", ")}); the others are null.`,
);

/** The project list's query, as Label Studio's list reads it. */
const ProjectListQuery = z.object({
  ...pageParams,
  ids: described(
    listValue.transform((values) =>
      values?.map((value) => {
        const id = /^\d+$/.test(value) ? ProjectId.safeParse(Number(value)) : undefined;
        // An id that cannot exist matches nothing.
        return id?.success ? id.data : 0;
      }),
    ),
    "Only these project ids, comma-separated.",
  ),
  title: described(
    queryValue.optional().transform((value) => value || undefined),
    "Titles containing this, case-insensitive.",
  ),
  search: described(
    queryValue.optional().transform((value) => value || undefined),
    "Titles or descriptions containing this, case-insensitive.",
  ),
  filter: described(
    queryValue
      .optional()
      .transform((value) =>
        value === "pinned_only" || value === "exclude_pinned" ? value : ("all" as const),
      ),
    "pinned_only, exclude_pinned, or all (the default).",
  ),
  ordering: described(
    listValue.transform((terms) => {
      // DRF's OrderingFilter: unknown fields are dropped.
      const ordering = (terms ?? []).flatMap((term): ProjectOrdering[] => {
        const field = term.replace(/^-/, "");
        return (PROJECT_ORDERING_FIELDS as readonly string[]).includes(field)
          ? [{ field: field as ProjectOrdering["field"], descending: term.startsWith("-") }]
          : [];
      });
      return ordering.length ? ordering : undefined;
    }),
    "Fields to order by, comma-separated, `-` for descending; replaces the default order (pinned first, then newest).",
  ),
  include: IncludeQuery,
});

const ProjectCountsPageOut = z.object({
  count: z.number().int(),
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(ProjectCounts),
});
restSchemas.add(ProjectCountsPageOut, { id: "ProjectCountsPage" });
restSchemas.add(ProjectConfigCheck, { id: "ProjectConfigCheck" });
restSchemas.add(ProjectSummary, { id: "ProjectSummary" });
const ConfigBody = ProjectLabelConfigInput;
restSchemas.add(ConfigBody, { id: "ProjectLabelConfig" });

/** DRF's page links around a page of `count` items. */
function links(request: Parameters<typeof pageUrl>[0], page: number, size: number, count: number) {
  return {
    next: page * size < count ? pageUrl(request, page + 1) : null,
    previous: page > 1 ? pageUrl(request, page - 1) : null,
  };
}

export const projectRoutes = [
  route({
    method: "GET",
    path: "/api/projects/",
    summary: "List projects",
    tag: "Projects",
    query: ProjectListQuery,
    success: {
      status: 200,
      description: "A page of projects, pinned first, then newest first.",
      schema: ProjectPageOut,
    },
    errors: [401, 404],
    handler: async ({ db, actor, query, request }) => {
      const { count, results } = await listProjects(db, actor, query);
      return { count, ...links(request, query.page, query.page_size, count), results };
    },
  }),
  route({
    method: "POST",
    path: "/api/projects/",
    summary: "Create a project",
    tag: "Projects",
    body: ProjectCreateBody,
    forms: PROJECT_FORM_FIELDS,
    success: { status: 201, description: "The created project.", schema: ProjectOut },
    errors: [400, 401, 413, 415],
    handler: ({ db, actor, body }) => createProject(db, actor, body),
  }),
  route({
    method: "GET",
    path: "/api/projects/counts/",
    summary: "List projects' counters only",
    tag: "Projects",
    query: ProjectListQuery,
    success: { status: 200, description: "A page of counters.", schema: ProjectCountsPageOut },
    errors: [401, 404],
    handler: async ({ db, actor, query, request }) => {
      const { count, results } = await listProjectCounts(db, actor, query);
      return { count, ...links(request, query.page, query.page_size, count), results };
    },
  }),
  // Label Studio lets anyone check a label config: it reads no data.
  publicRoute({
    method: "POST",
    path: "/api/projects/validate/",
    summary: "Check a label config on its own",
    tag: "Projects",
    body: ConfigBody,
    forms: {},
    success: { status: 204, description: "The config is valid." },
    errors: [400, 413, 415],
    handler: async ({ body }) => {
      validateLabelConfig(body.label_config);
      return undefined;
    },
  }),
  route({
    method: "GET",
    path: "/api/projects/{id}/",
    summary: "Get a project",
    tag: "Projects",
    params: ProjectPath,
    query: z.looseObject({ include: IncludeQuery }),
    success: { status: 200, description: "The project.", schema: ProjectOut },
    errors: [401, 404],
    handler: ({ db, actor, params, query }) => getProject(db, actor, params.id, query.include),
  }),
  route({
    method: "PATCH",
    path: "/api/projects/{id}/",
    summary: "Update a project",
    tag: "Projects",
    params: ProjectPath,
    // Read after the project is looked up, Label Studio's order.
    acceptedBody: ProjectUpdateBody,
    forms: PROJECT_FORM_FIELDS,
    success: { status: 200, description: "The updated project.", schema: ProjectOut },
    errors: [400, 401, 404, 413, 415],
    handler: async ({ db, actor, params, body }) => {
      if (!(await findProject(db, actor, params.id))) throw notFound(PROJECT_NOT_FOUND);
      const fields = ProjectUpdateBody.parse(body, { error: drfMessages });
      return updateProject(db, actor, { ...fields, id: params.id });
    },
  }),
  route({
    method: "DELETE",
    path: "/api/projects/{id}/",
    summary: "Delete a project and its tasks",
    tag: "Projects",
    params: ProjectPath,
    success: { status: 204, description: "Deleted." },
    errors: [401, 404],
    handler: async ({ db, actor, params }) => {
      await deleteProject(db, actor, params.id);
      return undefined;
    },
  }),
  route({
    method: "POST",
    path: "/api/projects/{id}/validate/",
    summary: "Check a label config against the project's tasks and annotations",
    tag: "Projects",
    params: ProjectPath,
    acceptedBody: ConfigBody,
    forms: {},
    success: {
      status: 200,
      description: "It fits; whether it changes what the annotations mean.",
      schema: ProjectConfigCheck,
    },
    errors: [400, 401, 404, 413, 415],
    handler: async ({ db, actor, params, body }) => {
      if (!(await findProject(db, actor, params.id))) throw notFound(PROJECT_NOT_FOUND);
      const given =
        body !== null && typeof body === "object" && !Array.isArray(body)
          ? (body as Record<string, unknown>).label_config
          : undefined;
      const { label_config } = ConfigBody.parse(
        { label_config: given ?? "" },
        { error: drfMessages },
      );
      return checkProjectConfig(db, actor, { id: params.id, label_config });
    },
  }),
  route({
    method: "GET",
    path: "/api/projects/{id}/summary/",
    summary: "What the project's tasks and annotations hold",
    tag: "Projects",
    params: ProjectPath,
    success: { status: 200, description: "The summary.", schema: ProjectSummary },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getProjectSummary(db, actor, params.id),
  }),
];
