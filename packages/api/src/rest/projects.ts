/**
 * /api/projects/: Label Studio's project endpoints over services/project.ts (contract
 * section 4). Fields Taskport does not keep (SDKs send `color`, `sampling`, ...) are ignored.
 */
import { z } from "zod";
import {
  createProject,
  deleteProject,
  getProject,
  listProjects,
  PROJECT_NOT_FOUND,
  updateProject,
} from "../services/project";
import type { FormFieldTypes } from "./body";
import { pageUrl } from "./paging";
import { route } from "./route";
import {
  PageQuery,
  ProjectCreateBody,
  ProjectOut,
  ProjectPageOut,
  ProjectUpdateBody,
  pathId,
} from "./schemas";

const PROJECT_FORM_FIELDS: FormFieldTypes = { integer: ["maximum_annotations"] };

export const ProjectPath = z.object({ id: pathId("project", PROJECT_NOT_FOUND) });

export const projectRoutes = [
  route({
    method: "GET",
    path: "/api/projects/",
    summary: "List projects",
    tag: "Projects",
    query: PageQuery,
    success: {
      status: 200,
      description: "A page of projects, newest first.",
      schema: ProjectPageOut,
    },
    errors: [401, 404],
    handler: async ({ db, actor, query, request }) => {
      const { count, results } = await listProjects(db, actor, query);
      return {
        count,
        next: query.page * query.page_size < count ? pageUrl(request, query.page + 1) : null,
        previous: query.page > 1 ? pageUrl(request, query.page - 1) : null,
        results,
      };
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
    path: "/api/projects/{id}/",
    summary: "Get a project",
    tag: "Projects",
    params: ProjectPath,
    success: { status: 200, description: "The project.", schema: ProjectOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getProject(db, actor, params.id),
  }),
  route({
    method: "PATCH",
    path: "/api/projects/{id}/",
    summary: "Update a project",
    tag: "Projects",
    params: ProjectPath,
    body: ProjectUpdateBody,
    forms: PROJECT_FORM_FIELDS,
    success: { status: 200, description: "The updated project.", schema: ProjectOut },
    errors: [400, 401, 404, 413, 415],
    handler: ({ db, actor, params, body }) => updateProject(db, actor, { ...body, id: params.id }),
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
];
