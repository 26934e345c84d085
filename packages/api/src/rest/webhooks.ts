/**
 * Label Studio's webhook API over services/webhook.ts: `/api/webhooks/` (list `?project=`,
 * create), `/api/webhooks/{id}/` (get, put, patch, delete), `/api/webhooks/info/`; and
 * Taskport's secret rotation, delivery log and redelivery.
 */
import {
  Webhook,
  WebhookCreateInput,
  WebhookDelivery,
  WebhookInfo,
  WebhookUpdateInput,
  WebhookWithSecret,
} from "@taskport/schema";
import { z } from "zod";
import { PROJECT_NOT_FOUND } from "../services/project";
import {
  createWebhook,
  DELIVERY_NOT_FOUND,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  redeliver,
  rotateWebhookSecret,
  updateWebhook,
  WEBHOOK_NOT_FOUND,
  webhookInfo,
} from "../services/webhook";
import { type RestRoute, route } from "./route";
import { described, pathId, queryId, restSchemas } from "./schemas";

function named<T extends z.ZodType>(id: string, schema: T): T {
  restSchemas.add(schema, { id });
  return schema;
}

const WebhookOut = named("Webhook", Webhook);
const WebhookSecretOut = named("WebhookWithSecret", WebhookWithSecret);
const DeliveryOut = named("WebhookDelivery", WebhookDelivery);
const CreateBody = named("WebhookCreate", WebhookCreateInput);
const UpdateBody = named("WebhookUpdate", WebhookUpdateInput.omit({ id: true }));
// PUT replaces every writable field, as Django REST framework's update does: `url` required.
const PutBody = named("WebhookPut", WebhookUpdateInput.omit({ id: true }).required({ url: true }));

const Path = z.object({ id: pathId("webhook", WEBHOOK_NOT_FOUND) });

export const webhookRoutes: RestRoute[] = [
  route({
    method: "GET",
    path: "/api/webhooks/",
    summary: "List the organization's webhooks (or one project's)",
    tag: "Webhooks",
    query: z.looseObject({
      project: described(queryId(PROJECT_NOT_FOUND).optional(), "Only this project's webhooks."),
    }),
    success: { status: 200, description: "The webhooks.", schema: z.array(WebhookOut) },
    errors: [400, 401, 404],
    handler: ({ db, actor, query }) => listWebhooks(db, actor, query.project),
  }),
  route({
    method: "POST",
    path: "/api/webhooks/",
    summary: "Create a webhook (its signing secret is in this answer only)",
    tag: "Webhooks",
    body: CreateBody,
    success: { status: 201, description: "The webhook and its secret.", schema: WebhookSecretOut },
    errors: [400, 401, 404, 415],
    handler: ({ db, actor, body, options }) =>
      createWebhook(db, options.network ?? {}, actor, body),
  }),
  route({
    method: "GET",
    path: "/api/webhooks/info/",
    summary: "Every webhook action",
    tag: "Webhooks",
    query: z.looseObject({
      "organization-only": described(
        z.enum(["true", "false"]).optional(),
        "Only organization-only actions (true) or only the others (false).",
      ),
    }),
    success: { status: 200, description: "Each action's name and key.", schema: WebhookInfo },
    errors: [401],
    handler: async ({ query }) =>
      webhookInfo(
        query["organization-only"] === undefined
          ? undefined
          : query["organization-only"] === "true",
      ),
  }),
  route({
    method: "GET",
    path: "/api/webhooks/{id}/",
    summary: "Get a webhook",
    tag: "Webhooks",
    params: Path,
    success: { status: 200, description: "The webhook.", schema: WebhookOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => getWebhook(db, actor, params.id),
  }),
  route({
    method: "PUT",
    path: "/api/webhooks/{id}/",
    summary: "Replace a webhook's settings (its project stays)",
    tag: "Webhooks",
    params: Path,
    body: PutBody,
    success: { status: 200, description: "The webhook.", schema: WebhookOut },
    errors: [400, 401, 404, 415],
    handler: ({ db, actor, params, body, options }) =>
      updateWebhook(db, options.network ?? {}, actor, { ...body, id: params.id }),
  }),
  route({
    method: "PATCH",
    path: "/api/webhooks/{id}/",
    summary: "Update a webhook (is_active: true turns a disabled one back on)",
    tag: "Webhooks",
    params: Path,
    body: UpdateBody,
    success: { status: 200, description: "The webhook.", schema: WebhookOut },
    errors: [400, 401, 404, 415],
    handler: ({ db, actor, params, body, options }) =>
      updateWebhook(db, options.network ?? {}, actor, { ...body, id: params.id }),
  }),
  route({
    method: "DELETE",
    path: "/api/webhooks/{id}/",
    summary: "Delete a webhook and its delivery log",
    tag: "Webhooks",
    params: Path,
    success: { status: 204, description: "Deleted." },
    errors: [401, 404],
    handler: async ({ db, actor, params }) => {
      await deleteWebhook(db, actor, params.id);
      return undefined;
    },
  }),
  route({
    method: "POST",
    path: "/api/webhooks/{id}/rotate-secret/",
    summary: "Give a webhook a new signing secret (shown in this answer only)",
    tag: "Webhooks",
    params: Path,
    success: {
      status: 200,
      description: "The webhook and its new secret.",
      schema: WebhookSecretOut,
    },
    errors: [401, 404],
    handler: ({ db, actor, params }) => rotateWebhookSecret(db, actor, params.id),
  }),
  route({
    method: "GET",
    path: "/api/webhooks/{id}/deliveries/",
    summary: "A webhook's delivery log, newest first",
    tag: "Webhooks",
    params: Path,
    query: z.looseObject({
      limit: described(
        z.coerce.number().int().min(1).max(1000).optional(),
        "How many (default 100, at most 1000).",
      ),
    }),
    success: { status: 200, description: "The deliveries.", schema: z.array(DeliveryOut) },
    errors: [400, 401, 404],
    handler: ({ db, actor, params, query }) => listDeliveries(db, actor, params.id, query.limit),
  }),
  route({
    method: "POST",
    path: "/api/webhooks/{id}/deliveries/{delivery}/redeliver/",
    summary: "Send a delivery again, with the same webhook-id",
    tag: "Webhooks",
    params: z.object({
      id: pathId("webhook", WEBHOOK_NOT_FOUND),
      delivery: pathId("delivery", DELIVERY_NOT_FOUND, Number.MAX_SAFE_INTEGER),
    }),
    success: { status: 200, description: "The delivery, pending again.", schema: DeliveryOut },
    errors: [401, 404],
    handler: ({ db, actor, params }) => redeliver(db, actor, params.id, params.delivery),
  }),
];
