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
import { createHmac } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { executeRows } from "../db/rows";
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

/**
 * Kept-alive connections, one pool per target and checked address: a webhook's deliveries
 * reuse its connection instead of paying a connect (and a TLS handshake) each. A pool only
 * ever connects to the address it is keyed by, so reuse never skips the network check.
 */
const agents = new Map<string, HttpAgent>();
const MAX_AGENTS = 256;

function agentFor(url: URL, address: string): HttpAgent {
  const key = `${url.protocol}//${url.host}@${address}`;
  let agent = agents.get(key);
  if (!agent) {
    if (agents.size >= MAX_AGENTS) {
      for (const old of agents.values()) old.destroy();
      agents.clear();
    }
    // An idle connection is closed after 4 s (or a second before the receiver's own
    // `Keep-Alive: timeout`), ahead of common servers' 5 s, so a send rarely meets a
    // connection the receiver has just closed.
    const options = { keepAlive: true, maxSockets: 8, maxFreeSockets: 2, timeout: 4000 };
    agent = url.protocol === "https:" ? new HttpsAgent(options) : new HttpAgent(options);
    agents.set(key, agent);
  }
  return agent;
}

/**
 * The `webhook-signature` of a message, per the Standard Webhooks specification: `v1,` and the
 * base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` keyed by the secret's bytes (the base64 after
 * `whsec_`). Computed by node:crypto: the standardwebhooks package signs with a SHA-256 written
 * in JavaScript, which cost 17 µs of CPU per delivered task (about 25 times node:crypto's), on
 * the event loop that serves the API. The tests check every delivery with that package's
 * verifier, and this function against its signer.
 */
export function signMessage(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
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
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = signMessage(target.secret, message.id, timestamp, message.body);
  const headers: Record<string, string> = {
    ...target.headers,
    "content-type": "application/json",
    "user-agent": "Taskport-Webhooks/1",
    "webhook-id": message.id,
    "webhook-timestamp": String(timestamp),
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
    const agent = agentFor(url, pinned.address);
    const req = send(url, { method: "POST", headers, lookup, agent }, (res) => answer(res));
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, retry: true, status: null, error: `No answer within ${timeoutMs} ms.` });
    }, timeoutMs);
    const answer = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      // An answer read to its end leaves the connection for the next delivery; one cut short
      // (too long, or broken) closes it.
      const finish = (complete: boolean) => {
        if (!complete) res.destroy();
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
        if (read >= maxBytes) finish(false);
      });
      res.on("end", () => finish(true));
      res.on("error", () => finish(false));
    };
    req.on("error", (error) =>
      done({ ok: false, retry: true, status: null, error: `Network error: ${error.message}` }),
    );
    req.end(message.body);
  });
}

type Event = typeof webhookEvents.$inferSelect;

/**
 * Records the outcomes of one run of sends: the events `delivered` (in one statement per answer
 * status) and the one that `failed` after them, if any. Answers whether the webhook may go on
 * with its next events.
 */
async function record(
  tx: Db,
  webhook: typeof webhooks.$inferSelect,
  delivered: { event: Event; status: number }[],
  failed: { event: Event; outcome: Outcome & { ok: false } } | undefined,
  settings: WebhookDeliverySettings,
): Promise<boolean> {
  const byStatus = new Map<number, number[]>();
  for (const { event, status } of delivered)
    byStatus.set(status, [...(byStatus.get(status) ?? []), event.id]);
  for (const [status, ids] of byStatus)
    await tx
      .update(webhookEvents)
      .set({
        status: "delivered",
        attempts: sql`${webhookEvents.attempts} + 1`,
        responseStatus: status,
        error: null,
        deliveredAt: sql`now()`,
      })
      .where(inArray(webhookEvents.id, ids));
  const before = delivered.length > 0 ? 0 : webhook.consecutiveFailures;
  if (!failed) {
    if (before !== webhook.consecutiveFailures)
      await tx.update(webhooks).set({ consecutiveFailures: 0 }).where(eq(webhooks.id, webhook.id));
    return true;
  }
  const { event, outcome } = failed;
  const attempts = event.attempts + 1;
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
  const failures = before + 1;
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

/**
 * Events read and sent per run, recorded together afterwards. A crash in between sends them
 * again (at least once, same `webhook-id`); the bound keeps that repeat short.
 */
const SEND_BATCH = 50;

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
        const events = await db
          .select()
          .from(webhookEvents)
          .where(and(eq(webhookEvents.webhookId, webhookId), eq(webhookEvents.status, "pending")))
          .orderBy(asc(webhookEvents.id))
          .limit(SEND_BATCH);
        const delivered: { event: Event; status: number }[] = [];
        let failed: { event: Event; outcome: Outcome & { ok: false } } | undefined;
        // In id order, up to the first event that is not due yet or fails: later ones wait.
        for (const event of events) {
          if (context.signal.aborted || event.nextAttemptAt.getTime() > Date.now()) break;
          const body = JSON.stringify(
            webhook.sendPayload ? await sentPayload(db, event.payload) : { action: event.action },
          );
          const outcome = await sendWebhook(
            webhook,
            { id: `msg_${event.messageId}`, body },
            settings,
          );
          if (!outcome.ok) {
            failed = { event, outcome };
            break;
          }
          delivered.push({ event, status: outcome.status });
        }
        if (delivered.length === 0 && !failed) return;
        let goOn = false;
        await context.commit(async (tx) => {
          goOn = await record(tx, webhook, delivered, failed, settings);
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
    const rows = await executeRows<{ webhookId: number; organizationId: number }>(
      db,
      sql`select h.webhook_id as "webhookId",
        w.organization_id as "organizationId"
      from (select distinct on (webhook_id) webhook_id, next_attempt_at from webhook_events
            where status = 'pending' order by webhook_id, id) h
      join webhooks w on w.id = h.webhook_id
      where w.is_active and h.next_attempt_at <= now()`,
    );
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
