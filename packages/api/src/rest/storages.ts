/**
 * Label Studio's import storage API over services/storage.ts, as route table entries:
 * `/api/storages/s3/` and `/api/storages/localfiles/` (list `?project=`, create, get, patch,
 * delete, `validate`, `{id}/sync`), Taskport's `{id}/cancel` and `/api/jobs/{id}/`; and the media
 * URLs of synced tasks (`/api/tasks/{id}/resolve/`, `/data/local-files/`).
 */
import {
  ImportStorage,
  Job,
  JobId,
  LocalStorageCreateInput,
  LocalStorageUpdateInput,
  LocalStorageValidateInput,
  S3StorageCreateInput,
  S3StorageUpdateInput,
  S3StorageValidateInput,
  StorableString,
  type StorageType,
} from "@taskport/schema";
import type { FastifyReply } from "fastify";
import { z } from "zod";
import { notFound } from "../errors";
import { cancelJob, getJob, JOB_NOT_FOUND } from "../services/job";
import { PROJECT_NOT_FOUND } from "../services/project";
import {
  cancelSync,
  createStorage,
  deleteStorage,
  getStorage,
  listStorages,
  type StorageSettings,
  storageNotFound,
  syncStorage,
  updateStorage,
  validateStorage,
} from "../services/storage";
import { type Media, openLocalFile, openTaskMedia } from "../services/storage-urls";
import { TASK_NOT_FOUND } from "../services/task";
import type { RestOptions } from "./auth";
import type { FormFieldTypes } from "./body";
import { type RestRoute, route } from "./route";
import { described, notFoundIssue, pathId, queryId, restSchemas } from "./schemas";

const FORM_FIELDS: FormFieldTypes = {
  integer: ["project", "presign_ttl", "sync_interval_minutes", "id"],
};

function named<T extends z.ZodType>(id: string, schema: T): T {
  restSchemas.add(schema, { id });
  return schema;
}

const StorageOut = named("ImportStorage", ImportStorage);
const JobOut = named("Job", Job);

const BODIES = {
  s3: {
    create: named("S3StorageCreate", S3StorageCreateInput),
    update: named("S3StorageUpdate", S3StorageUpdateInput.omit({ id: true })),
    validate: named("S3StorageValidate", S3StorageValidateInput),
  },
  localfiles: {
    create: named("LocalStorageCreate", LocalStorageCreateInput),
    update: named("LocalStorageUpdate", LocalStorageUpdateInput.omit({ id: true })),
    validate: named("LocalStorageValidate", LocalStorageValidateInput),
  },
} as const;

const TITLES: Record<StorageType, string> = {
  s3: "an S3 storage",
  localfiles: "a local folder storage",
};

const settingsOf = (options: RestOptions): StorageSettings => ({
  secretKey: options.secretKey,
  localFilesRoot: options.localFilesRoot,
  network: options.network,
});

/** Headers for media served from Taskport's origin: never run as a page of the app. */
async function sendMedia(reply: FastifyReply, media: Media): Promise<FastifyReply> {
  if (media.kind === "redirect") return reply.code(303).header("location", media.url).send();
  reply
    .header("content-type", media.contentType ?? "application/octet-stream")
    .header("x-content-type-options", "nosniff")
    .header("content-security-policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
    .header("cache-control", "private, max-age=60");
  if (media.contentLength !== undefined) reply.header("content-length", media.contentLength);
  reply.send(media.body);
  // The reply resolves once the whole body is written.
  await reply;
  return reply;
}

function storageRoutesOf(type: StorageType): RestRoute[] {
  const bodies = BODIES[type];
  const base = `/api/storages/${type}`;
  const Path = z.object({ id: pathId("storage", storageNotFound(type)) });
  return [
    route({
      method: "GET",
      path: `${base}/`,
      summary: `List a project's ${type === "s3" ? "S3" : "local folder"} storages`,
      tag: "Storages",
      query: z.looseObject({
        project: described(queryId(PROJECT_NOT_FOUND).optional(), "The project's id."),
      }),
      success: { status: 200, description: "The project's storages.", schema: z.array(StorageOut) },
      errors: [401, 404],
      handler: async ({ db, actor, query }) => {
        // Label Studio answers a missing project with 404, as for an unknown one.
        if (query.project === undefined) throw notFound(PROJECT_NOT_FOUND);
        return listStorages(db, actor, type, query.project);
      },
    }),
    route({
      method: "POST",
      path: `${base}/`,
      summary: `Create ${TITLES[type]} (refused if it cannot be read)`,
      tag: "Storages",
      body: bodies.create,
      forms: FORM_FIELDS,
      success: {
        status: 201,
        description: "The storage, credentials left out.",
        schema: StorageOut,
      },
      errors: [400, 401, 404, 415],
      handler: ({ db, actor, body, options }) =>
        createStorage(db, settingsOf(options), actor, type, body),
    }),
    route({
      method: "POST",
      path: `${base}/validate`,
      summary: `Check ${TITLES[type]}'s settings (merged over a stored one's with \`id\`)`,
      tag: "Storages",
      body: bodies.validate,
      forms: FORM_FIELDS,
      success: { status: 200, description: "The storage can be read (empty body)." },
      errors: [400, 401, 404, 415],
      handler: async ({ db, actor, body, options, reply }) => {
        await validateStorage(db, settingsOf(options), actor, type, body);
        return reply.code(200).send();
      },
    }),
    route({
      method: "GET",
      path: `${base}/{id}/`,
      summary: `Get ${TITLES[type]}, with its last sync's status and progress`,
      tag: "Storages",
      params: Path,
      success: { status: 200, description: "The storage.", schema: StorageOut },
      errors: [401, 404],
      handler: ({ db, actor, params }) => getStorage(db, actor, type, params.id),
    }),
    route({
      method: "PATCH",
      path: `${base}/{id}/`,
      summary: `Update ${TITLES[type]}`,
      tag: "Storages",
      params: Path,
      body: bodies.update,
      forms: FORM_FIELDS,
      success: { status: 200, description: "The storage.", schema: StorageOut },
      errors: [400, 401, 404, 415],
      handler: ({ db, actor, params, body, options }) =>
        updateStorage(db, settingsOf(options), actor, type, params.id, body),
    }),
    route({
      method: "DELETE",
      path: `${base}/{id}/`,
      summary: `Delete ${TITLES[type]} (its running sync is cancelled, its tasks stay)`,
      tag: "Storages",
      params: Path,
      success: { status: 204, description: "Deleted." },
      errors: [401, 404],
      handler: async ({ db, actor, params, options }) => {
        await deleteStorage(db, options.jobs, actor, type, params.id);
        return undefined;
      },
    }),
    route({
      method: "POST",
      path: `${base}/{id}/sync`,
      summary: `Sync ${TITLES[type]}: new and changed objects only, never twice at once`,
      tag: "Storages",
      params: Path,
      success: {
        status: 200,
        description: "The storage, its sync queued (or the one already queued or running).",
        schema: StorageOut,
      },
      errors: [400, 401, 404, 503],
      handler: ({ db, actor, params, options }) =>
        syncStorage(db, settingsOf(options), options.jobs, actor, type, params.id),
    }),
    route({
      method: "POST",
      path: `${base}/{id}/cancel`,
      summary: `Cancel ${TITLES[type]}'s queued or running sync`,
      tag: "Storages",
      params: Path,
      success: { status: 200, description: "The storage.", schema: StorageOut },
      errors: [401, 404, 503],
      handler: ({ db, actor, params, options }) =>
        cancelSync(db, options.jobs, actor, type, params.id),
    }),
  ];
}

const JobPath = z.object({
  id: described(
    z.string().transform((raw, ctx) => {
      const parsed = JobId.safeParse(raw);
      if (!parsed.success) {
        notFoundIssue(ctx, JOB_NOT_FOUND);
        return z.NEVER;
      }
      return parsed.data;
    }),
    "The job's id (a UUID).",
  ),
});

const MediaQuery = (name: string, description: string) =>
  z.looseObject({ [name]: described(StorableString.min(1), description) });

export const storageRoutes: RestRoute[] = [
  route({
    method: "GET",
    path: "/api/storages/types",
    summary: "The kinds of import storage this server has",
    tag: "Storages",
    success: {
      status: 200,
      description: "Each kind's name (the path segment) and title.",
      schema: z.array(z.object({ name: z.string(), title: z.string() })),
    },
    errors: [401],
    handler: async () => [
      { name: "s3", title: "AWS S3 (and S3-compatible)" },
      { name: "localfiles", title: "Local files" },
    ],
  }),
  ...storageRoutesOf("s3"),
  ...storageRoutesOf("localfiles"),
  route({
    method: "GET",
    path: "/api/jobs/{id}/",
    summary: "A background job's status and progress",
    tag: "Jobs",
    params: JobPath,
    success: { status: 200, description: "The job.", schema: JobOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getJob(db, actor, params.id),
  }),
  route({
    method: "POST",
    path: "/api/jobs/{id}/cancel",
    summary: "Cancel a background job (a running one stops at its next step)",
    tag: "Jobs",
    params: JobPath,
    success: { status: 200, description: "The job.", schema: JobOut },
    errors: [401, 404, 503],
    handler: ({ db, actor, params, options }) => cancelJob(db, options.jobs, actor, params.id),
  }),
  route({
    method: "GET",
    path: "/api/tasks/{id}/resolve/",
    summary: "A synced task's media: a redirect to a presigned URL, or the object's bytes",
    tag: "Tasks",
    params: z.object({ id: pathId("task", TASK_NOT_FOUND, Number.MAX_SAFE_INTEGER) }),
    query: MediaQuery("fileuri", "The base64url of the task's s3:// URI."),
    success: { status: 200, description: "The object's bytes (presign off)." },
    also: [
      {
        status: 303,
        description: "Redirect to a presigned URL valid presign_ttl minutes (presign on).",
        schema: z.undefined(),
      },
    ],
    errors: [400, 401, 404],
    handler: async ({ db, actor, params, query, reply, options }) =>
      sendMedia(
        reply,
        await openTaskMedia(db, settingsOf(options), actor, params.id, String(query.fileuri)),
      ),
  }),
  route({
    method: "GET",
    path: "/data/local-files/",
    summary: "A file of one of your local folder storages (Label Studio's URL)",
    tag: "Storages",
    query: MediaQuery("d", "The file's path under TASKPORT_LOCAL_FILES_ROOT."),
    success: { status: 200, description: "The file's bytes." },
    errors: [400, 401, 404],
    handler: async ({ db, actor, query, reply, options }) =>
      sendMedia(reply, await openLocalFile(db, options.localFilesRoot, actor, String(query.d))),
  }),
];
