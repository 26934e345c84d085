/**
 * Idempotency keys for creates: a replay with the same key and the same request within 24
 * hours answers the first response and creates nothing; the same key with another request is
 * refused (422). One wrapper, `withIdempotency`, applied by the service of each operation that
 * takes a key (createTask, importTasks), so REST and tRPC share it under one operation name.
 *
 * The key is claimed by inserting its row first, in the transaction that creates, and the
 * response is written into that row before commit: a concurrent request with the same key
 * waits on the primary key until the first commits (then replays) or rolls back (then
 * creates), and a crash can never leave a create without its key or a key without its create.
 */
import { createHash } from "node:crypto";
import { transformer } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { and, eq, sql } from "drizzle-orm";
import type { SuperJSONResult } from "superjson";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { transactionDb } from "../db/transaction";

export const IDEMPOTENCY_WINDOW_HOURS = 24;

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

/** Every operation that takes a key, under one name whichever surface (REST, tRPC) calls it. */
export type IdempotentOperation = "task.create" | "task.import";

/** The status every keyed operation answers on success (stored with the response). */
const CREATED = 201;

/** What identifies a keyed request: its key, and the hash of what it asked. */
export interface IdempotencyRequest {
  /** Absent: the operation simply runs. */
  key: string | undefined;
  /**
   * SHA-256 of the request. Asked once the operation has run (a streamed request is only
   * known once read), or instead of running it when the key is already taken.
   */
  hash(): string | Promise<string>;
}

/** A request known in full up front (a tRPC input, a parsed JSON body). */
export function keyedRequest(key: string | undefined, request: unknown): IdempotencyRequest {
  let hash: string | undefined;
  return { key, hash: () => (hash ??= hashRequest(request)) };
}

const keyMismatch = () =>
  new TRPCError({
    code: "UNPROCESSABLE_CONTENT",
    message:
      "This idempotency key was already used with a different request: use a new key for a new request.",
  });

/**
 * The one idempotency wrapper: runs `operation` once per (organization, operation, key)
 * within the window and answers replays with the stored response. `run` gets the
 * transaction that holds the key as its `db`, so the key and what it created commit together.
 * Without a key it simply runs.
 */
export async function withIdempotency<T>(
  db: Db,
  actor: Actor,
  operation: IdempotentOperation,
  request: IdempotencyRequest,
  run: (db: Db) => Promise<T>,
): Promise<T> {
  const { key } = request;
  if (key === undefined) return run(db);
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
    const response = await run(transactionDb(tx, db));
    await tx
      .update(idempotencyKeys)
      .set({
        requestHash: await request.hash(),
        statusCode: CREATED,
        response: transformer.serialize(response),
      })
      .where(
        and(
          eq(idempotencyKeys.organizationId, actor.organizationId),
          eq(idempotencyKeys.operation, operation),
          eq(idempotencyKeys.key, key),
        ),
      );
    return { response };
  });
  if (stored) return stored.response;

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
  if (row.requestHash !== (await request.hash())) throw keyMismatch();
  return transformer.deserialize<T>(row.response as SuperJSONResult);
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
