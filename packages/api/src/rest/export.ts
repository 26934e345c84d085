/**
 * Label Studio's synchronous export over services/export.ts: `GET /api/projects/{id}/export`
 * (a file, streamed as it is read) and `GET /api/projects/{id}/export/formats`.
 */
import { Readable } from "node:stream";
import { z } from "zod";
import { exportProject, listExportFormats } from "../services/export";
import { ProjectPath } from "./projects";
import { route } from "./route";
import { described, queryFlag, queryValue, restSchemas } from "./schemas";

/** Task ids, repeated (`ids=1&ids=2`, as the SDKs send them) or comma-separated. */
const taskIds = () =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return undefined;
      const values = (Array.isArray(raw) ? raw : [raw])
        .flatMap((v) => v.split(","))
        .map((v) => v.trim());
      const ids: number[] = [];
      for (const value of values.filter(Boolean)) {
        const id = Number(value);
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(id)) {
          ctx.issues.push({
            code: "custom",
            message: "A valid integer is required.",
            input: value,
          });
          return z.NEVER;
        }
        ids.push(id);
      }
      return ids;
    });

const ExportQuery = z.looseObject({
  exportType: described(queryValue.optional(), "JSON (the default), JSON_MIN, CSV or TSV."),
  export_type: described(queryValue.optional(), "The older name of `exportType`."),
  download_all_tasks: queryFlag(
    false,
    "true: every task; false (the default): tasks with an annotation.",
  ),
  download_resources: queryFlag(false, "Accepted; the formats Taskport makes hold no media files."),
  interpolate_key_frames: queryFlag(false, "Accepted; video key frames are exported as stored."),
  "ids[]": described(taskIds(), "Only these tasks (Label Studio's name: `ids[]=1&ids[]=2`)."),
  ids: described(taskIds(), "Only these tasks, as the SDKs send them: `ids=1&ids=2` or `ids=1,2`."),
});

const ExportFormatOut = z
  .object({
    title: z.string(),
    description: z.string(),
    link: z.string(),
    tags: z.array(z.string()).optional(),
    name: z.string(),
    disabled: z.literal(true).optional(),
  })
  .register(restSchemas, { id: "ExportFormat" });

export const exportRoutes = [
  route({
    method: "GET",
    path: "/api/projects/{id}/export",
    tag: "Export",
    summary: "Export the project's tasks and annotations as a file (JSON, JSON_MIN, CSV or TSV)",
    params: ProjectPath,
    query: ExportQuery,
    success: {
      status: 200,
      description:
        "The file, as an attachment named `project-{id}-at-{time}-{8 hex}.json` (`.csv` for CSV and TSV).",
    },
    errors: [400, 401, 404],
    handler: async ({ db, actor, params, query, reply }) => {
      const typeField = query.exportType
        ? "exportType"
        : query.export_type
          ? "export_type"
          : "exportType";
      const idLists = [query["ids[]"], query.ids].filter(
        (ids): ids is number[] => ids !== undefined,
      );
      const file = await exportProject(db, actor, params.id, {
        typeField,
        exportType: query.exportType || query.export_type || "JSON",
        downloadAllTasks: query.download_all_tasks,
        ids: idLists.length ? idLists.flat() : undefined,
      });
      reply
        .code(200)
        .header("content-type", file.contentType)
        .header("content-disposition", `attachment; filename="${file.filename}"`)
        .header("filename", file.filename)
        // One page ahead at most: the file is read as fast as the client takes it.
        .send(Readable.from(file.body, { highWaterMark: 1 }));
      // The reply resolves once the whole file is written.
      await reply;
      return reply;
    },
  }),
  route({
    method: "GET",
    path: "/api/projects/{id}/export/formats",
    tag: "Export",
    summary: "The export formats, those Taskport makes first (the others are `disabled`)",
    params: ProjectPath,
    success: {
      status: 200,
      description: "Label Studio's format list.",
      schema: z.array(ExportFormatOut),
    },
    errors: [401, 404],
    handler: ({ db, actor, params }) => listExportFormats(db, actor, params.id),
  }),
];
