/**
 * tRPC setup: the context carries its dependencies (db, headers) from the app; the formatter
 * adds field errors for BAD_REQUEST only and never lets an internal message or a stack out.
 */
import { transformer } from "@taskport/schema";
import { initTRPC, TRPCError } from "@trpc/server";
import { z } from "zod";
import { type Actor, type AuthOptions, type HeaderBag, resolveActor } from "./auth/actor";
import { refuseCrossSiteChange } from "./auth/cross-site";
import type { Db } from "./db/client";
import { issuesOf, toClientError } from "./errors";
import type { JobSystem } from "./jobs";
import type { NetworkPolicy } from "./services/network-policy";

export interface CreateContextOptions {
  db: Db;
  headers: HeaderBag;
  /** An already-authenticated caller (server-side callers); otherwise read from headers. */
  actor?: Actor | null;
  /** The JWT signing key, for personal access tokens. */
  secretKey?: Uint8Array;
  /** Durable jobs (storage syncs, ...); without it, procedures that start jobs answer 503. */
  jobs?: JobSystem;
  /** TASKPORT_LOCAL_FILES_ROOT: local folder storages must lie under it (unset: refused). */
  localFilesRoot?: string;
  /** Where webhooks and S3 storages may connect (TASKPORT_OUTBOUND_ALLOW_NETWORKS / _DENY_NETWORKS). */
  network?: NetworkPolicy;
}

export function createTRPCContext(opts: CreateContextOptions) {
  const auth: AuthOptions = { secretKey: opts.secretKey };
  return {
    db: opts.db,
    headers: opts.headers,
    actor: opts.actor ?? null,
    auth,
    jobs: opts.jobs,
    localFilesRoot: opts.localFilesRoot,
    network: opts.network ?? {},
  };
}

export type Context = ReturnType<typeof createTRPCContext>;

export const INTERNAL_ERROR_MESSAGE = "Internal server error";

const t = initTRPC.context<Context>().create({
  transformer,
  isDev: false,
  errorFormatter({ shape, error }) {
    const internal = error.code === "INTERNAL_SERVER_ERROR";
    return {
      ...shape,
      message: internal ? INTERNAL_ERROR_MESSAGE : shape.message,
      data: {
        ...shape.data,
        stack: undefined,
        // Field errors as Zod flattens them, and each issue's field and key as data, so that a
        // client places a message without reading it.
        zodError:
          error.code === "BAD_REQUEST" && error.cause instanceof z.ZodError
            ? { ...z.flattenError(error.cause), issues: issuesOf(error.cause) }
            : null,
      },
    };
  },
});

export const createCallerFactory = t.createCallerFactory;
export const createTRPCRouter = t.router;

/** Every procedure: a database outage reaches the client as 503, not as an internal error. */
export const publicProcedure = t.procedure.use(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.code === "INTERNAL_SERVER_ERROR") {
    const mapped = toClientError(result.error.cause);
    if (mapped instanceof TRPCError) throw mapped;
  }
  return result;
});

export const protectedProcedure = publicProcedure.use(async ({ ctx, type, next }) => {
  const actor = ctx.actor ?? (await resolveActor(ctx.db, ctx.headers, ctx.auth));
  refuseCrossSiteChange(ctx.headers, type === "mutation");
  return next({ ctx: { ...ctx, actor } });
});

export { TRPCError };
