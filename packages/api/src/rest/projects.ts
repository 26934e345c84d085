/**
 * /api/projects/: Label Studio's project endpoints over services/project.ts (contract
 * section 4). Fields Taskport does not keep (SDKs send `color`, `sampling`, ...) are ignored.
 */
import {
  ProjectCreateInput,
  ProjectId,
  type ProjectPage,
  ProjectUpdateInput,
} from "@taskport/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound } from "../errors";
import {
  createProject,
  deleteProject,
  getProject,
  listProjects,
  PROJECT_NOT_FOUND,
  updateProject,
} from "../services/project";
import type { RestOptions } from "./auth";
import { type FormFieldTypes, readBody } from "./body";
import { parseBody } from "./errors";
import { pageQuery, pageUrl } from "./paging";
import { resource } from "./resource";

const PROJECT_FORM_FIELDS: FormFieldTypes = { integer: ["maximum_annotations"] };

function projectIdParam(request: FastifyRequest): number {
  const raw = (request.params as { id: string }).id;
  if (!/^\d+$/.test(raw)) throw notFound("Not found.");
  const parsed = ProjectId.safeParse(Number(raw));
  if (!parsed.success) throw notFound(PROJECT_NOT_FOUND);
  return parsed.data;
}

export function projectRoutes(app: FastifyInstance, options: RestOptions): void {
  const { db } = options;

  resource(app, options, "/api/projects/", {
    async GET({ request, actor }): Promise<ProjectPage> {
      const page = pageQuery(request);
      const { count, results } = await listProjects(db, actor, page);
      return {
        count,
        next: page.page * page.page_size < count ? pageUrl(request, page.page + 1) : null,
        previous: page.page > 1 ? pageUrl(request, page.page - 1) : null,
        results,
      };
    },
    async POST({ request, reply, actor }) {
      const body = parseBody(ProjectCreateInput, await readBody(request, PROJECT_FORM_FIELDS));
      return reply.code(201).send(await createProject(db, actor, body));
    },
  });

  resource(app, options, "/api/projects/:id/", {
    GET: ({ request, actor }) => getProject(db, actor, projectIdParam(request)),
    async PATCH({ request, actor }) {
      const id = projectIdParam(request);
      const body = await readBody(request, PROJECT_FORM_FIELDS);
      return updateProject(db, actor, parseBody(ProjectUpdateInput, withId(body, id)));
    },
    async DELETE({ request, reply, actor }) {
      await deleteProject(db, actor, projectIdParam(request));
      return reply.code(204).send();
    },
  });
}

/** The body with the URL's id, or the body as is (not an object) for the parser to refuse. */
function withId(body: unknown, id: number): unknown {
  return body !== null && typeof body === "object" && !Array.isArray(body) ? { ...body, id } : body;
}
