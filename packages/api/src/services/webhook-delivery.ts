/**
 * Delivering the outbox (`webhook_events`). A dispatcher in every working process looks every
 * second (and at once after this process wrote events) for webhooks whose oldest pending event
 * is due, and enqueues one durable job per such webhook (key `webhook:<id>`, so never two at
 * once). The job sends that webhook's due events in id order and stops at the first failure,
 * so a webhook receives its events in order; the failed event is tried again after a growing
 * delay. A job interrupted by a crash is retried by the job system; an event sent but not yet
 * recorded is then sent again with the same `webhook-id`, which receivers deduplicate by.
 *
 * Every request is signed per the Standard Webhooks specification (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`), goes only to addresses the network policy allows
 * (services/network-policy.ts; the connection is pinned to the checked address), follows no
 * redirect, reads at most `maxResponseBytes` of the answer and gives up after `timeoutMs`.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { and, asc, eq, sql } from "drizzle-orm";
import { Webhook as Signer } from "standardwebhooks";
import type { Db } from "../db/client";
import { webhookEvents, webhooks } from "../db/schema";
import type { JobDefinition, JobSystem } from "../jobs/system";
import { type NetworkPolicy, resolveTarget, TargetRefused } from "./network-policy";
import { invalidateWebhookCache, onWebhookEvents, sentPayload } from "./webhook-events";

export const DELIVERY_QUEUE = "webhook-delivery";

/** Seconds before each retry: about four days in all, as the README documents. */
export const DEFAULT_RETRY_SECONDS = [5, 300, 1800, 3 * 3600, 86400, 86400, 86400, 86400];

export interface WebhookDeliverySettings extends NetworkPolicy {
  /** Per-request limit (TASKPORT_WEBHOOK_TIMEOUT_MS, default 10 s). */
  timeoutMs?: number;
  /** Bytes of an answer read at most (default 64 KiB); the rest is not waited for. */
  maxResponseBytes?: number;
  /** Delays before retries (TASKPORT_WEBHOOK_RETRY_SECONDS); its length bounds the attempts. */
  retrySeconds?: readonly number[];
  /** Failed attempts in a row that turn a webhook off (TASKPORT_WEBHOOK_DISABLE_AFTER, 10). */
  disableAfterFailures?: number;
  /** How often the dispatcher looks for due events (default 1000 ms). */
  dispatchIntervalMs?: number;
}

export interface DeliveryData {
  webhookId: number;
}

type Outcome =
  | { ok: true; status: number }
  | { ok: false; retry: boolean; status: number | null; error: string; retryAfter?: number };

/** A Retry-After header in seconds (delta or HTTP date), bounded to a day. */
function retryAfterSeconds(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const seconds = /^\d+$/.test(text.trim())
    ? Number(text.trim())
    : (Date.parse(text) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(86400, Math.max(0, seconds));
}

/** One POST: the outcome, never a throw. */
export async function sendWebhook(
  target: { url: string; headers: Record<string, string>; secret: string },
  message: { id: string; body: string },
  settings: WebhookDeliverySettings,
): Promise<Outcome> {
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const maxBytes = settings.maxResponseBytes ?? 64 * 1024;
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return { ok: false, retry: false, status: null, error: "The webhook's URL is not valid." };
  }
  let addresses: { address: string; family: 4 | 6 }[];
  try {
    addresses = await resolveTarget(url.hostname, settings);
  } catch (error) {
    if (error instanceof TargetRefused)
      return { ok: false, retry: false, status: null, error: error.message };
    return {
      ok: false,
      retry: true,
      status: null,
      error: `${url.hostname} could not be resolved: ${(error as Error).message}`,
    };
  }
  const pinned = addresses[0] as { address: string; family: 4 | 6 };
  const lookup: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const timestamp = new Date();
  const signature = new Signer(target.secret).sign(message.id, timestamp, message.body);
  const headers: Record<string, string> = {
    ...target.headers,
    "content-type": "application/json",
    "user-agent": "Taskport-Webhooks/1",
    "webhook-id": message.id,
    "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
    "webhook-signature": signature,
    "content-length": String(Buffer.byteLength(message.body)),
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = send(url, { method: "POST", headers, lookup, agent: false }, (res) => answer(res));
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, retry: true, status: null, error: `No answer within ${timeoutMs} ms.` });
    }, timeoutMs);
    const answer = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      const finish = () => {
        res.destroy();
        if (status >= 200 && status < 300) done({ ok: true, status });
        else if (status >= 300 && status < 400)
          done({ ok: false, retry: false, status, error: `Redirect (${status}) not followed.` });
        else
          done({
            ok: false,
            retry: status >= 500 || status === 408 || status === 429,
            status,
            error: `The receiver answered ${status}.`,
            retryAfter: retryAfterSeconds(res.headers["retry-after"]),
          });
      };
      res.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read >= maxBytes) finish();
      });
      res.on("end", finish);
      res.on("error", finish);
    };
    req.on("error", (error) =>
      done({ ok: false, retry: true, status: null, error: `Network error: ${error.message}` }),
    );
    req.end(message.body);
  });
}

/** Records an attempt's outcome; answers whether the webhook may go on with its next event. */
async function record(
  tx: Db,
  webhook: typeof webhooks.$inferSelect,
  event: typeof webhookEvents.$inferSelect,
  outcome: Outcome,
  settings: WebhookDeliverySettings,
): Promise<boolean> {
  const attempts = event.attempts + 1;
  if (outcome.ok) {
    await tx
      .update(webhookEvents)
      .set({
        status: "delivered",
        attempts,
        responseStatus: outcome.status,
        error: null,
        deliveredAt: sql`now()`,
      })
      .where(eq(webhookEvents.id, event.id));
    if (webhook.consecutiveFailures > 0)
      await tx.update(webhooks).set({ consecutiveFailures: 0 }).where(eq(webhooks.id, webhook.id));
    return true;
  }
  const schedule = settings.retrySeconds ?? DEFAULT_RETRY_SECONDS;
  const retry = outcome.retry && attempts <= schedule.length;
  const delay = outcome.retryAfter ?? schedule[attempts - 1] ?? 0;
  await tx
    .update(webhookEvents)
    .set({
      status: retry ? "pending" : "failed",
      attempts,
      responseStatus: outcome.status,
      error: outcome.error,
      nextAttemptAt: retry ? sql`now() + make_interval(secs => ${delay})` : sql`now()`,
    })
    .where(eq(webhookEvents.id, event.id));
  const failures = webhook.consecutiveFailures + 1;
  const limit = settings.disableAfterFailures ?? 10;
  const disable = failures >= limit;
  await tx
    .update(webhooks)
    .set({
      consecutiveFailures: failures,
      ...(disable
        ? {
            isActive: false,
            disabledAt: sql`now()`,
            disabledReason: `Turned off after ${failures} failed deliveries in a row; the last: ${outcome.error}`,
          }
        : {}),
    })
    .where(eq(webhooks.id, webhook.id));
  if (disable) invalidateWebhookCache();
  // A failed event that will not be retried lets the next one go; a retried one holds them.
  return !retry && !disable;
}

/** The job: sends one webhook's due events in order, stopping at the first that must wait. */
export function deliveryDefinition(
  db: Db,
  settings: WebhookDeliverySettings,
): JobDefinition<DeliveryData> {
  return {
    queue: DELIVERY_QUEUE,
    concurrency: 4,
    retry: { attempts: 20, delaySeconds: () => 1 },
    async handler(context) {
      const { webhookId } = context.data;
      for (;;) {
        if (context.signal.aborted) return;
        const [webhook] = await db.select().from(webhooks).where(eq(webhooks.id, webhookId));
        if (!webhook?.isActive) return;
        const [event] = await db
          .select()
          .from(webhookEvents)
          .where(and(eq(webhookEvents.webhookId, webhookId), eq(webhookEvents.status, "pending")))
          .orderBy(asc(webhookEvents.id))
          .limit(1);
        if (!event || event.nextAttemptAt.getTime() > Date.now()) return;
        const body = JSON.stringify(
          webhook.sendPayload ? await sentPayload(db, event.payload) : { action: event.action },
        );
        const outcome = await sendWebhook(
          webhook,
          { id: `msg_${event.messageId}`, body },
          settings,
        );
        let goOn = false;
        await context.commit(async (tx) => {
          goOn = await record(tx, webhook, event, outcome, settings);
          return undefined;
        });
        if (!goOn) return;
      }
    },
  };
}

/**
 * Enqueues a delivery job for every active webhook whose oldest pending event is due. Runs
 * every `dispatchIntervalMs` and soon after this process wrote events.
 */
export function webhookDispatcher(
  db: Db,
  system: () => JobSystem,
  settings: WebhookDeliverySettings,
  logError: (id: string, error: unknown) => void,
): { start(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const dispatch = async () => {
    const due = await db.execute(sql`select h.webhook_id as "webhookId",
        w.organization_id as "organizationId"
      from (select distinct on (webhook_id) webhook_id, next_attempt_at from webhook_events
            where status = 'pending' order by webhook_id, id) h
      join webhooks w on w.id = h.webhook_id
      where w.is_active and h.next_attempt_at <= now()`);
    const rows = (Array.isArray(due) ? due : (due as unknown as { rows: unknown[] }).rows) as {
      webhookId: number;
      organizationId: number;
    }[];
    for (const row of rows) {
      await system().enqueue(
        DELIVERY_QUEUE,
        { webhookId: Number(row.webhookId) },
        { key: `webhook:${row.webhookId}`, organizationId: Number(row.organizationId) },
      );
    }
  };
  const tick = () => {
    if (running) {
      again = true;
      return;
    }
    running = dispatch()
      .catch((error) => logError("webhook-dispatch", error))
      .finally(() => {
        running = undefined;
        if (again && timer) {
          again = false;
          tick();
        }
      });
  };
  return {
    start() {
      timer = setInterval(tick, settings.dispatchIntervalMs ?? 1000);
      timer.unref();
      unsubscribe = onWebhookEvents(tick);
      tick();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      unsubscribe?.();
    },
  };
}
