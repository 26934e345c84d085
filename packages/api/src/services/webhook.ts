/**
 * Webhooks of the caller's organization, as Label Studio's `/api/webhooks/` serves them, plus
 * Taskport's signing secret (shown at creation and rotation only), the delivery log and
 * redelivery.
 */
import { randomBytes } from "node:crypto";
import {
  WEBHOOK_ACTION_INFO,
  type Webhook,
  type WebhookAction,
  type WebhookCreateInput,
  type WebhookDelivery,
  type WebhookInfo,
  type WebhookUpdateInput,
  type WebhookWithSecret,
} from "@taskport/schema";
import { and, desc, eq, sql } from "drizzle-orm";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { webhookEvents, webhooks } from "../db/schema";
import { notFound, validationError } from "../errors";
import { type NetworkPolicy, resolveTarget, TargetRefused } from "./network-policy";
import { findProject, PROJECT_NOT_FOUND } from "./project";
import { CACHE_MS, invalidateWebhookCache } from "./webhook-events";

type WebhookRow = typeof webhooks.$inferSelect;
type EventRow = typeof webhookEvents.$inferSelect;

export const WEBHOOK_NOT_FOUND = "No Webhook matches the given query.";
export const DELIVERY_NOT_FOUND = "No delivery of this webhook matches the given query.";

export function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    organization: row.organizationId,
    project: row.projectId,
    url: row.url,
    send_payload: row.sendPayload,
    send_for_all_actions: row.sendForAllActions,
    headers: row.headers,
    is_active: row.isActive,
    actions: row.actions as WebhookAction[],
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    consecutive_failures: row.consecutiveFailures,
    disabled_reason: row.disabledReason,
    disabled_at: row.disabledAt,
  };
}

export function toDelivery(row: EventRow): WebhookDelivery {
  return {
    id: row.id,
    webhook: row.webhookId,
    message_id: `msg_${row.messageId}`,
    action: row.action as WebhookAction,
    status: row.status,
    attempts: row.attempts,
    response_status: row.responseStatus,
    error: row.error,
    next_attempt_at: row.status === "pending" ? row.nextAttemptAt : null,
    created_at: row.createdAt,
    delivered_at: row.deliveredAt,
  };
}

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
function newSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/** `GET /api/webhooks/info/`: every action, optionally only (or all but) organization-only ones. */
export function webhookInfo(organizationOnly?: boolean): WebhookInfo {
  const info: WebhookInfo = {};
  for (const [action, meta] of Object.entries(WEBHOOK_ACTION_INFO)) {
    if (organizationOnly !== undefined && meta.organizationOnly !== organizationOnly) continue;
    info[action] = {
      name: meta.name,
      description: "",
      key: meta.key,
      "organization-only": meta.organizationOnly,
    };
  }
  return info;
}

/** Refuses a URL whose host is a literal or resolvable address outside the allowed networks. */
async function checkUrl(url: string, network: NetworkPolicy): Promise<void> {
  const { hostname } = new URL(url);
  try {
    await resolveTarget(hostname, network);
  } catch (error) {
    if (error instanceof TargetRefused)
      throw validationError({ url: [`This URL cannot receive webhooks: ${error.message}.`] });
    // A name that does not resolve now may later; its deliveries say so if it still does not.
  }
}

function checkActions(projectId: number | null | undefined, actions: WebhookAction[]): void {
  if (projectId != null && actions.some((a) => WEBHOOK_ACTION_INFO[a].organizationOnly)) {
    throw validationError({}, ["Project webhook can't contain organization-only action."]);
  }
}

/** A webhook created or turned on must be seen by every process's emit cache before answering. */
async function waitForCaches(): Promise<void> {
  invalidateWebhookCache();
  await new Promise((resolve) => setTimeout(resolve, CACHE_MS + 50));
}

async function findWebhook(db: Db, actor: Actor, id: number): Promise<WebhookRow> {
  const [row] = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, id), eq(webhooks.organizationId, actor.organizationId)));
  if (!row) throw notFound(WEBHOOK_NOT_FOUND);
  return row;
}

export async function createWebhook(
  db: Db,
  network: NetworkPolicy,
  actor: Actor,
  input: WebhookCreateInput,
): Promise<WebhookWithSecret> {
  if (input.project != null && !(await findProject(db, actor, input.project)))
    throw notFound(PROJECT_NOT_FOUND);
  const actions = [...new Set(input.actions ?? [])];
  checkActions(input.project, actions);
  await checkUrl(input.url, network);
  const [row] = await db
    .insert(webhooks)
    .values({
      organizationId: actor.organizationId,
      projectId: input.project ?? null,
      url: input.url,
      sendPayload: input.send_payload ?? true,
      sendForAllActions: input.send_for_all_actions ?? true,
      headers: input.headers ?? {},
      isActive: input.is_active ?? true,
      actions,
      secret: newSecret(),
    })
    .returning();
  if (!row) throw new Error("webhook insert returned no row");
  if (row.isActive) await waitForCaches();
  return { ...toWebhook(row), secret: row.secret };
}

export async function listWebhooks(db: Db, actor: Actor, projectId?: number): Promise<Webhook[]> {
  const rows = await db
    .select()
    .from(webhooks)
    .where(
      and(
        eq(webhooks.organizationId, actor.organizationId),
        projectId === undefined ? undefined : eq(webhooks.projectId, projectId),
      ),
    )
    .orderBy(webhooks.id);
  return rows.map(toWebhook);
}

export async function getWebhook(db: Db, actor: Actor, id: number): Promise<Webhook> {
  return toWebhook(await findWebhook(db, actor, id));
}

/** PATCH (and PUT, with every field): `project` stays; turning a webhook on clears its failures. */
export async function updateWebhook(
  db: Db,
  network: NetworkPolicy,
  actor: Actor,
  input: WebhookUpdateInput,
): Promise<Webhook> {
  const current = await findWebhook(db, actor, input.id);
  const actions = input.actions === undefined ? undefined : [...new Set(input.actions)];
  if (actions) checkActions(current.projectId, actions);
  if (input.url !== undefined && input.url !== current.url) await checkUrl(input.url, network);
  const turnedOn = input.is_active === true && !current.isActive;
  const [row] = await db
    .update(webhooks)
    .set({
      url: input.url,
      sendPayload: input.send_payload,
      sendForAllActions: input.send_for_all_actions,
      headers: input.headers,
      isActive: input.is_active,
      actions,
      ...(input.is_active !== undefined
        ? { consecutiveFailures: 0, disabledReason: null, disabledAt: null }
        : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(webhooks.id, current.id))
    .returning();
  if (!row) throw notFound(WEBHOOK_NOT_FOUND);
  if (turnedOn || (row.isActive && (actions || input.send_for_all_actions !== undefined)))
    await waitForCaches();
  else invalidateWebhookCache();
  return toWebhook(row);
}

export async function deleteWebhook(db: Db, actor: Actor, id: number): Promise<void> {
  const row = await findWebhook(db, actor, id);
  await db.delete(webhooks).where(eq(webhooks.id, row.id));
  invalidateWebhookCache();
}

/** A new signing secret, shown once; deliveries from now on are signed with it. */
export async function rotateWebhookSecret(
  db: Db,
  actor: Actor,
  id: number,
): Promise<WebhookWithSecret> {
  const current = await findWebhook(db, actor, id);
  const [row] = await db
    .update(webhooks)
    .set({ secret: newSecret(), updatedAt: sql`now()` })
    .where(eq(webhooks.id, current.id))
    .returning();
  if (!row) throw notFound(WEBHOOK_NOT_FOUND);
  return { ...toWebhook(row), secret: row.secret };
}

/** The delivery log, newest first. */
export async function listDeliveries(
  db: Db,
  actor: Actor,
  id: number,
  limit = 100,
): Promise<WebhookDelivery[]> {
  const webhook = await findWebhook(db, actor, id);
  const rows = await db
    .select()
    .from(webhookEvents)
    .where(eq(webhookEvents.webhookId, webhook.id))
    .orderBy(desc(webhookEvents.id))
    .limit(limit);
  return rows.map(toDelivery);
}

/** Sends a delivery again (same `webhook-id`), in its place in the webhook's order. */
export async function redeliver(
  db: Db,
  actor: Actor,
  id: number,
  deliveryId: number,
): Promise<WebhookDelivery> {
  const webhook = await findWebhook(db, actor, id);
  const [row] = await db
    .update(webhookEvents)
    .set({ status: "pending", attempts: 0, nextAttemptAt: sql`now()`, error: null })
    .where(and(eq(webhookEvents.id, deliveryId), eq(webhookEvents.webhookId, webhook.id)))
    .returning();
  if (!row) throw notFound(DELIVERY_NOT_FOUND);
  return toDelivery(row);
}
