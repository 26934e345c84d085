import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { type AppRouter, appRouter } from "./root";
import { createCallerFactory, createTRPCContext } from "./trpc";

export type { Actor } from "./auth/actor";
export { CROSS_SITE_MESSAGE, refuseCrossSiteChange } from "./auth/cross-site";
export { loadSecretKey } from "./auth/secret";
export {
  actorForSession,
  createSession,
  deleteSession,
  SESSION_COOKIE,
} from "./auth/session";
export { type Db, openDatabase } from "./db";
export { errorField } from "./errors";
export type { JobSystem } from "./jobs";
export { createJobSystem, type TaskportJobsOptions } from "./jobs/queues";
export { importTasks } from "./services/import";
export { type NetworkPolicy, parseNetworks } from "./services/network-policy";
export { createToken } from "./services/token";
export { createUserWithOrganization, ensureAdmin, verifyLogin } from "./services/user";
export { type AppRouter, appRouter, createTRPCContext };

/** A server-side caller: `createCaller(createTRPCContext({ db, headers }))`. */
export const createCaller = createCallerFactory(appRouter);

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
