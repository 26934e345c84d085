/**
 * Webhooks as Label Studio serves them (`/api/webhooks/`), plus what Taskport adds: the signing
 * secret (shown once), why a webhook was disabled, and the delivery log. The same shapes serve
 * REST, tRPC and the web app.
 */
import { z } from "zod";
import { MAX_INT_ID, ProjectId } from "./ids";

/**
 * Every action a webhook can subscribe to: Label Studio's (its `WebhookAction.ACTIONS`, in its
 * order) and Taskport's storage sync and prediction events. `organizationOnly` actions concern
 * no single project, so only organization webhooks (no `project`) receive them.
 */
export const WEBHOOK_ACTION_INFO = {
  PROJECT_CREATED: { name: "Project created", key: "project", organizationOnly: true },
  PROJECT_UPDATED: { name: "Project updated", key: "project", organizationOnly: false },
  PROJECT_DELETED: { name: "Project deleted", key: "project", organizationOnly: true },
  TASKS_CREATED: { name: "Task created", key: "tasks", organizationOnly: false },
  TASKS_DELETED: { name: "Task deleted", key: "tasks", organizationOnly: false },
  ANNOTATION_CREATED: { name: "Annotation created", key: "annotation", organizationOnly: false },
  ANNOTATIONS_CREATED: { name: "Annotations created", key: "annotation", organizationOnly: false },
  ANNOTATION_UPDATED: { name: "Annotation updated", key: "annotation", organizationOnly: false },
  ANNOTATIONS_DELETED: { name: "Annotation deleted", key: "annotations", organizationOnly: false },
  LABEL_LINK_CREATED: { name: "Label link created", key: "label_link", organizationOnly: false },
  LABEL_LINK_UPDATED: { name: "Label link updated", key: "label_link", organizationOnly: false },
  LABEL_LINK_DELETED: { name: "Label link deleted", key: "label_link", organizationOnly: false },
  PREDICTIONS_CREATED: { name: "Predictions created", key: "predictions", organizationOnly: false },
  PREDICTION_UPDATED: { name: "Prediction updated", key: "prediction", organizationOnly: false },
  PREDICTIONS_DELETED: { name: "Predictions deleted", key: "predictions", organizationOnly: false },
  STORAGE_SYNC_STARTED: { name: "Storage sync started", key: "storage", organizationOnly: false },
  STORAGE_SYNC_COMPLETED: {
    name: "Storage sync completed",
    key: "storage",
    organizationOnly: false,
  },
  STORAGE_SYNC_FAILED: { name: "Storage sync failed", key: "storage", organizationOnly: false },
} as const;

export type WebhookAction = keyof typeof WEBHOOK_ACTION_INFO;
export const WEBHOOK_ACTIONS = Object.keys(WEBHOOK_ACTION_INFO) as [
  WebhookAction,
  ...WebhookAction[],
];
export const WebhookAction = z.enum(WEBHOOK_ACTIONS);

export const WebhookId = z.number().int().min(1).max(MAX_INT_ID);

/** Label Studio's header rule: at most 10, names of letters, digits, `-` and `_`, string values. */
export const WebhookHeaders = z
  .record(
    z.string().regex(/^[a-zA-Z0-9-_]+$/, "Header names are letters, digits, '-' and '_'."),
    z.string().max(4096),
  )
  .refine((headers) => Object.keys(headers).length <= 10, "At most 10 headers.");

export const WebhookUrl = z
  .string()
  .max(2048, "Ensure this field has no more than 2048 characters.")
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    } catch {
      return false;
    }
  }, "Enter a valid URL.");

const writableFields = {
  url: WebhookUrl,
  send_payload: z.boolean().optional(),
  send_for_all_actions: z.boolean().optional(),
  headers: WebhookHeaders.optional(),
  is_active: z.boolean().optional(),
  actions: z.array(WebhookAction).optional(),
};

export const WebhookCreateInput = z.object({
  /** Null or absent: an organization webhook, for every project and organization events. */
  project: ProjectId.nullish(),
  ...writableFields,
});
export type WebhookCreateInput = z.infer<typeof WebhookCreateInput>;

/** PATCH: any writable field; `project` cannot change (Label Studio's update serializer). */
export const WebhookUpdateInput = z.object({
  id: WebhookId,
  ...writableFields,
  url: WebhookUrl.optional(),
});
export type WebhookUpdateInput = z.infer<typeof WebhookUpdateInput>;

export const WebhookByIdInput = z.object({ id: WebhookId });
export type WebhookByIdInput = z.infer<typeof WebhookByIdInput>;

export const WebhookListInput = z.object({ project: ProjectId.optional() });
export type WebhookListInput = z.infer<typeof WebhookListInput>;

export const Webhook = z.object({
  id: z.number().int(),
  organization: z.number().int(),
  project: z.number().int().nullable(),
  url: z.string(),
  send_payload: z.boolean(),
  send_for_all_actions: z.boolean(),
  headers: z.record(z.string(), z.string()),
  is_active: z.boolean(),
  actions: z.array(WebhookAction),
  created_at: z.date(),
  updated_at: z.date(),
  /** Failed delivery attempts in a row (reset by a success). */
  consecutive_failures: z.number().int(),
  /** Why Taskport turned the webhook off (null while active or when turned off by a user). */
  disabled_reason: z.string().nullable(),
  disabled_at: z.date().nullable(),
});
export type Webhook = z.infer<typeof Webhook>;

/** The answer of a create and of a secret rotation: the only times the secret is shown. */
export const WebhookWithSecret = Webhook.extend({
  /** Standard Webhooks signing secret (`whsec_...`): verify deliveries with it. */
  secret: z.string(),
});
export type WebhookWithSecret = z.infer<typeof WebhookWithSecret>;

export const WebhookActionInfo = z.object({
  name: z.string(),
  description: z.string(),
  key: z.string(),
  "organization-only": z.boolean(),
});
export const WebhookInfo = z.record(z.string(), WebhookActionInfo);
export type WebhookInfo = z.infer<typeof WebhookInfo>;

export const WEBHOOK_DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export const WebhookDeliveryStatus = z.enum(WEBHOOK_DELIVERY_STATUSES);

/** One event for one webhook, with the outcome of its last attempt. */
export const WebhookDelivery = z.object({
  id: z.number().int(),
  webhook: z.number().int(),
  /** The `webhook-id` header: the same for every attempt, so receivers can deduplicate. */
  message_id: z.string(),
  action: WebhookAction,
  status: WebhookDeliveryStatus,
  attempts: z.number().int(),
  response_status: z.number().int().nullable(),
  error: z.string().nullable(),
  next_attempt_at: z.date().nullable(),
  created_at: z.date(),
  delivered_at: z.date().nullable(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookDeliveryListInput = z.object({
  id: WebhookId,
  limit: z.number().int().min(1).max(1000).optional(),
});
export type WebhookDeliveryListInput = z.infer<typeof WebhookDeliveryListInput>;

export const WebhookRedeliverInput = z.object({
  id: WebhookId,
  delivery: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export type WebhookRedeliverInput = z.infer<typeof WebhookRedeliverInput>;
