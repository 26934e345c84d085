/**
 * Label Studio's annotation and prediction endpoints over services/annotation.ts and
 * services/prediction.ts. The services own every rule; these entries say what each endpoint
 * reads and answers.
 */
import {
  Annotation,
  AnnotationFields,
  AnnotationIds,
  Prediction,
  PredictionFields,
  PredictionImportResult,
  TaskId,
} from "@taskport/schema";
import { z } from "zod";
import {
  ANNOTATION_NOT_FOUND,
  createAnnotation,
  createAnnotationsBulk,
  deleteAnnotation,
  getAnnotation,
  listAnnotations,
  updateAnnotation,
} from "../services/annotation";
import {
  createPrediction,
  deletePrediction,
  getPrediction,
  importPredictions,
  listPredictions,
  PREDICTION_NOT_FOUND,
  updatePrediction,
} from "../services/prediction";
import { TASK_NOT_FOUND } from "../services/task";
import { ProjectPath } from "./projects";
import { route } from "./route";
import { described, pathId, queryFlag, queryValue, restSchemas } from "./schemas";

const TaskPath = z.object({ id: pathId("task", TASK_NOT_FOUND, Number.MAX_SAFE_INTEGER) });
const AnnotationPath = z.object({
  id: pathId("annotation", ANNOTATION_NOT_FOUND, Number.MAX_SAFE_INTEGER),
});
const PredictionPath = z.object({
  id: pathId("prediction", PREDICTION_NOT_FOUND, Number.MAX_SAFE_INTEGER),
});

const AnnotationOut = Annotation;
restSchemas.add(AnnotationOut, { id: "Annotation" });
const AnnotationListOut = z.array(Annotation);
const AnnotationIdsOut = AnnotationIds;
restSchemas.add(AnnotationIdsOut, { id: "AnnotationIds" });
const PredictionOut = Prediction;
restSchemas.add(PredictionOut, { id: "Prediction" });
const PredictionListOut = z.array(Prediction);
const PredictionImportOut = PredictionImportResult;
restSchemas.add(PredictionImportOut, { id: "PredictionImportResult" });

const AnnotationBody = AnnotationFields;
restSchemas.add(AnnotationBody, { id: "AnnotationWrite" });
const PredictionBody = PredictionFields;
restSchemas.add(PredictionBody, { id: "PredictionWrite" });

const SelectedItemsBody = z.union([
  z.object({ all: z.literal(true), excluded: z.array(TaskId).optional() }),
  z.object({ all: z.literal(false), included: z.array(TaskId).optional() }),
]);
const AnnotationBulkBody = AnnotationFields.extend({
  tasks: z.array(TaskId).optional(),
  selected_items: SelectedItemsBody.optional(),
  project: z.number().int().min(1).optional(),
});
restSchemas.add(AnnotationBulkBody, { id: "AnnotationBulkWrite" });

/** An optional integer filter, as DRF's IntegerField reads it. */
const intFilter = (description: string) =>
  described(
    queryValue.optional().transform((raw, ctx) => {
      if (raw === undefined || raw === "") return undefined;
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
        ctx.issues.push({ code: "custom", message: "A valid integer is required.", input: raw });
        return z.NEVER;
      }
      return Number(raw);
    }),
    description,
  );

export const annotationRoutes = [
  route({
    method: "GET",
    path: "/api/tasks/{id}/annotations/",
    summary: "List a task's annotations (not the cancelled ones), by id",
    tag: "Annotations",
    params: TaskPath,
    success: { status: 200, description: "The annotations.", schema: AnnotationListOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => listAnnotations(db, actor, params.id),
  }),
  route({
    method: "POST",
    path: "/api/tasks/{id}/annotations/",
    summary: "Annotate a task",
    tag: "Annotations",
    params: TaskPath,
    query: z.object({
      was_cancelled: queryFlag(
        undefined,
        "true: the annotation is a skip (cancelled); unset, the body's was_cancelled holds.",
      ),
    }),
    body: AnnotationBody,
    success: { status: 201, description: "The created annotation.", schema: AnnotationOut },
    errors: [400, 401, 404, 413, 415],
    handler: ({ db, actor, params, query, body }) =>
      createAnnotation(db, actor, {
        ...body,
        task: params.id,
        // Only when the query names it, as Label Studio reads it.
        wasCancelled: query.was_cancelled,
      }),
  }),
  route({
    method: "POST",
    path: "/api/annotations/bulk/",
    summary: "Annotate many tasks at once (tasks, or selected_items of a project)",
    tag: "Annotations",
    body: AnnotationBulkBody,
    success: {
      status: 201,
      description: "The created annotations' ids.",
      schema: AnnotationIdsOut,
    },
    errors: [400, 401, 404, 413, 415],
    handler: ({ db, actor, body }) => createAnnotationsBulk(db, actor, body),
  }),
  route({
    method: "GET",
    path: "/api/annotations/{id}/",
    summary: "Get an annotation",
    tag: "Annotations",
    params: AnnotationPath,
    success: { status: 200, description: "The annotation.", schema: AnnotationOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getAnnotation(db, actor, params.id),
  }),
  route({
    method: "PATCH",
    path: "/api/annotations/{id}/",
    summary: "Update an annotation",
    tag: "Annotations",
    params: AnnotationPath,
    body: AnnotationBody,
    success: { status: 200, description: "The updated annotation.", schema: AnnotationOut },
    errors: [400, 401, 404, 413, 415],
    handler: ({ db, actor, params, body }) =>
      updateAnnotation(db, actor, { ...body, id: params.id }),
  }),
  route({
    method: "DELETE",
    path: "/api/annotations/{id}/",
    summary: "Delete an annotation",
    tag: "Annotations",
    params: AnnotationPath,
    success: { status: 204, description: "Deleted." },
    errors: [401, 404],
    handler: async ({ db, actor, params }) => {
      await deleteAnnotation(db, actor, params.id);
      return undefined;
    },
  }),
  route({
    method: "GET",
    path: "/api/predictions/",
    summary: "List predictions, of a task or a project",
    tag: "Predictions",
    query: z.object({
      task: intFilter("Only this task's predictions."),
      project: intFilter("Only this project's predictions."),
    }),
    success: { status: 200, description: "The predictions, by id.", schema: PredictionListOut },
    errors: [400, 401],
    handler: ({ db, actor, query }) => listPredictions(db, actor, query),
  }),
  route({
    method: "POST",
    path: "/api/predictions/",
    summary: "Create a prediction",
    tag: "Predictions",
    body: PredictionBody,
    success: { status: 201, description: "The created prediction.", schema: PredictionOut },
    errors: [400, 401, 413, 415],
    handler: ({ db, actor, body }) => createPrediction(db, actor, body),
  }),
  route({
    method: "GET",
    path: "/api/predictions/{id}/",
    summary: "Get a prediction",
    tag: "Predictions",
    params: PredictionPath,
    success: { status: 200, description: "The prediction.", schema: PredictionOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getPrediction(db, actor, params.id),
  }),
  route({
    method: "PATCH",
    path: "/api/predictions/{id}/",
    summary: "Update a prediction",
    tag: "Predictions",
    params: PredictionPath,
    body: PredictionBody.omit({ task: true }),
    success: { status: 200, description: "The updated prediction.", schema: PredictionOut },
    errors: [400, 401, 404, 413, 415],
    handler: ({ db, actor, params, body }) =>
      updatePrediction(db, actor, { ...body, id: params.id }),
  }),
  route({
    method: "DELETE",
    path: "/api/predictions/{id}/",
    summary: "Delete a prediction",
    tag: "Predictions",
    params: PredictionPath,
    success: { status: 204, description: "Deleted." },
    errors: [401, 404],
    handler: async ({ db, actor, params }) => {
      await deletePrediction(db, actor, params.id);
      return undefined;
    },
  }),
  route({
    method: "POST",
    path: "/api/projects/{id}/import/predictions",
    summary: "Import predictions for tasks of a project",
    tag: "Predictions",
    params: ProjectPath,
    body: z.array(PredictionFields),
    success: {
      status: 201,
      description: "How many predictions were created.",
      schema: PredictionImportOut,
    },
    errors: [400, 401, 404, 413, 415],
    handler: ({ db, actor, params, body }) => importPredictions(db, actor, params.id, body),
  }),
];
