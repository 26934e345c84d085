/**
 * /api/tasks/: Label Studio's task endpoints over services/task.ts (contract sections 1 and 4).
 * The service owns every rule; this file only reads the request and picks the status.
 */
import { ProjectId, TaskId, TaskListInput, TaskUpdateInput } from "@taskport/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound, validationError } from "../errors";
import {
  checkIdempotencyKey,
  IDEMPOTENCY_KEY_HEADER,
  withIdempotencyKey,
} from "../services/idempotency";
import { PROJECT_NOT_FOUND } from "../services/project";
import {
  createTask,
  deleteTask,
  getTask,
  listTasks,
  TASK_NOT_FOUND,
  updateTask,
} from "../services/task";
import type { RestOptions } from "./auth";
import { type FormFieldTypes, readBody } from "./body";
import { parseBody } from "./errors";
import { pageQuery, queryParam } from "./paging";
import { resource } from "./resource";

export const TASK_FORM_FIELDS: FormFieldTypes = {
  json: ["data", "meta"],
  integer: ["project", "overlap"],
};

/** The `{id}` of a task URL; an id that cannot exist is the same 404 as a missing task. */
function taskIdParam(request: FastifyRequest): number {
  const raw = (request.params as { id: string }).id;
  if (!/^\d+$/.test(raw)) throw notFound("Not found.");
  const parsed = TaskId.safeParse(Number(raw));
  if (!parsed.success) throw notFound(TASK_NOT_FOUND);
  return parsed.data;
}

export function taskRoutes(app: FastifyInstance, options: RestOptions): void {
  const { db } = options;

  resource(app, options, "/api/tasks/", {
    async POST({ request, reply, actor }) {
      const body = await readBody(request, TASK_FORM_FIELDS);
      // A retried create with the same Idempotency-Key answers the first task (see idempotency.ts).
      const key = checkIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]);
      const outcome = await withIdempotencyKey(
        db,
        actor,
        { operation: "task.create", key, request: body },
        (txDb) => createTask(txDb, actor, body),
      );
      return reply.code(outcome.statusCode).send(outcome.response);
    },
    async GET({ request, actor }) {
      const rawProject = queryParam(request, "project")?.trim();
      if (!rawProject) throw validationError({ project: ["This field is required."] });
      if (!/^\d+$/.test(rawProject))
        throw validationError({ project: ["A valid integer is required."] });
      // An id beyond the column's range names no project: the same 404 as a missing one.
      const project = ProjectId.safeParse(Number(rawProject));
      if (!project.success) throw notFound(PROJECT_NOT_FOUND);
      const input = parseBody(TaskListInput, { ...pageQuery(request), project: project.data });
      return listTasks(db, actor, input);
    },
  });

  resource(app, options, "/api/tasks/:id/", {
    GET: ({ request, actor }) => getTask(db, actor, taskIdParam(request)),
    async PATCH({ request, actor }) {
      const id = taskIdParam(request);
      const body = await readBody(request, TASK_FORM_FIELDS);
      if (body === null || typeof body !== "object" || Array.isArray(body)) {
        throw validationError({}, [
          "The request body must be a JSON object of the fields to change.",
        ]);
      }
      return updateTask(db, actor, parseBody(TaskUpdateInput, { ...body, id }));
    },
    async DELETE({ request, reply, actor }) {
      await deleteTask(db, actor, taskIdParam(request));
      return reply.code(204).send();
    },
  });
}
