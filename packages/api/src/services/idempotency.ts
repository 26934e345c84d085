/**
 * Idempotency keys for creates (task creation and import, on tRPC and REST): a replay with the
 * same key and the same request within 24 hours answers the first response and creates
 * nothing; the same key with another request is refused (422).
 *
 * The key is claimed by inserting its row first, in the transaction that creates, and the
 * response is written into that row before commit: a concurrent request with the same key
 * waits on the primary key until the first commits (then replays) or rolls back (then
 * creates), and a crash can never leave a create without its key or a key without its create.
 */
import { createHash } from "node:crypto";
import { IdempotencyKey } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, eq, sql } from "drizzle-orm";
import superjson, { type SuperJSONResult } from "superjson";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { idempotencyKeys } from "../db/schema";

export const IDEMPOTENCY_WINDOW_HOURS = 24;
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/** A key as sent (header or input); absent, empty or not a string means "no key". */
export function checkIdempotencyKey(raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const parsed = IdempotencyKey.safeParse(raw);
  if (!parsed.success) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: "The idempotency key must be 1 to 255 visible ASCII characters.",
    });
  }
  return parsed.data;
}

/** JSON with object keys sorted, so that the same request always hashes the same. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

/** SHA-256 of a request value (its body and the parameters that shape the result). */
export function hashRequest(value: unknown): string {
  return createHash("sha256")
    .update(canonicalJson(value) ?? "undefined")
    .digest("hex");
}

export interface IdempotentOutcome<T> {
  statusCode: number;
  response: T;
  /** True when this is the stored answer of an earlier request with the same key. */
  replayed: boolean;
}

export interface IdempotentHandlers<T> {
  /**
   * Runs the create inside the transaction that holds the key, with that transaction as its
   * `db`; returns the response and the request's hash (which streamed requests only know once
   * they have been read).
   */
  create(db: Db): Promise<{ statusCode: number; response: T; requestHash: string }>;
  /** This request's hash without creating anything, when the key is already taken. */
  hash(): Promise<string>;
}

const keyMismatch = () =>
  new TRPCError({
    code: "UNPROCESSABLE_CONTENT",
    message:
      "This idempotency key was already used with a different request: use a new key for a new request.",
  });

/**
 * Runs `handlers.create` once per (organization, operation, key) within the window. Without a
 * key it simply runs the create.
 */
export async function runIdempotent<T>(
  db: Db,
  actor: Actor,
  operation: string,
  key: string | undefined,
  handlers: IdempotentHandlers<T>,
): Promise<IdempotentOutcome<T>> {
  if (key === undefined) {
    const { statusCode, response } = await handlers.create(db);
    return { statusCode, response, replayed: false };
  }
  const stored = await db.transaction(async (tx) => {
    // Claims the key, or re-claims one whose window has passed. On a conflict with a live row
    // this waits for its transaction, so two requests with one key never both create.
    const claimed = await tx
      .insert(idempotencyKeys)
      .values({
        organizationId: actor.organizationId,
        operation,
        key,
        requestHash: "",
        statusCode: 0,
        response: {},
      })
      .onConflictDoUpdate({
        target: [idempotencyKeys.organizationId, idempotencyKeys.operation, idempotencyKeys.key],
        set: { requestHash: "", statusCode: 0, response: {}, createdAt: sql`now()` },
        setWhere: sql`${idempotencyKeys.createdAt} < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`,
      })
      .returning({ key: idempotencyKeys.key });
    if (claimed.length === 0) return null;
    const txDb = Object.assign(tx, {
      $driver: db.$driver,
      $close: async () => {},
    }) as unknown as Db;
    const created = await handlers.create(txDb);
    await tx
      .update(idempotencyKeys)
      .set({
        requestHash: created.requestHash,
        statusCode: created.statusCode,
        response: superjson.serialize(created.response),
      })
      .where(
        and(
          eq(idempotencyKeys.organizationId, actor.organizationId),
          eq(idempotencyKeys.operation, operation),
          eq(idempotencyKeys.key, key),
        ),
      );
    return { statusCode: created.statusCode, response: created.response, replayed: false };
  });
  if (stored) return stored;

  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.organizationId, actor.organizationId),
        eq(idempotencyKeys.operation, operation),
        eq(idempotencyKeys.key, key),
      ),
    );
  // The row was committed before our insert conflicted; it can only have vanished if the
  // organization was deleted meanwhile.
  if (!row)
    throw new TRPCError({ code: "CONFLICT", message: "The idempotency key was released: retry." });
  if (row.requestHash !== (await handlers.hash())) throw keyMismatch();
  return {
    statusCode: row.statusCode,
    response: superjson.deserialize(row.response as SuperJSONResult) as T,
    replayed: true,
  };
}

/** The common case: a request known in full up front (tRPC inputs, parsed JSON bodies). */
export function withIdempotencyKey<T>(
  db: Db,
  actor: Actor,
  options: { operation: string; key: string | undefined; request: unknown; statusCode?: number },
  create: (db: Db) => Promise<T>,
): Promise<IdempotentOutcome<T>> {
  const statusCode = options.statusCode ?? 201;
  if (options.key === undefined) {
    return create(db).then((response) => ({ statusCode, response, replayed: false }));
  }
  let requestHash: string | undefined;
  const hash = () => {
    requestHash ??= hashRequest(options.request);
    return requestHash;
  };
  return runIdempotent(db, actor, options.operation, options.key, {
    create: async (txDb) => ({ statusCode, response: await create(txDb), requestHash: hash() }),
    hash: async () => hash(),
  });
}

/**
 * Deletes keys past the replay window (they can no longer answer anything), so the table
 * holds about one day of keyed requests. Uses the created_at index; safe to run from every
 * process at once.
 */
export async function deleteExpiredIdempotencyKeys(db: Db): Promise<number> {
  const deleted = await db
    .delete(idempotencyKeys)
    .where(
      sql`${idempotencyKeys.createdAt} < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`,
    )
    .returning({ key: idempotencyKeys.key });
  return deleted.length;
}
