/**
 * Registers one REST resource the way Django REST framework serves it: the path with and
 * without its trailing slash (no redirect, SDKs send both), 405 with an `Allow` header for the
 * other methods, and OPTIONS answering the allowed methods. Authentication runs in `onRequest`,
 * before the body is read, so an anonymous caller gets 401 whatever it sent and never makes
 * the server read a large body.
 */
import { TRPCError } from "@trpc/server";
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
  onRequestAsyncHookHandler,
  RouteHandlerMethod,
} from "fastify";
import type { Actor } from "../auth/actor";
import { authenticate, type RestOptions } from "./auth";

export interface HandlerContext {
  request: FastifyRequest;
  reply: FastifyReply;
  actor: Actor;
}

export type Handler = (context: HandlerContext) => Promise<unknown>;

type Method = "GET" | "POST" | "PATCH" | "DELETE";
const METHODS: readonly Method[] = ["GET", "POST", "PATCH", "DELETE"];
const OTHER_METHODS: readonly HTTPMethods[] = ["PUT"];

const actors = new WeakMap<FastifyRequest, Actor>();

/** The actor `onRequest` authenticated (protected routes only). */
export function actorOf(request: FastifyRequest): Actor {
  const actor = actors.get(request);
  if (!actor) throw new Error("actorOf() called on a route without authentication");
  return actor;
}

/** Both spellings of a path: with and without its trailing slash. */
export function bothSlashes(url: string): string[] {
  const bare = url.replace(/\/+$/, "");
  return [bare, `${bare}/`];
}

/** A resource whose every method needs an authenticated caller. */
export function resource(
  app: FastifyInstance,
  options: RestOptions,
  url: string,
  handlers: Partial<Record<Method, Handler>>,
): void {
  const routes: Partial<Record<Method, RouteHandlerMethod>> = {};
  for (const method of METHODS) {
    const handler = handlers[method];
    if (handler) {
      routes[method] = (request, reply) => handler({ request, reply, actor: actorOf(request) });
    }
  }
  register(app, url, routes, async (request) => {
    actors.set(request, await authenticate(request, options));
  });
}

/** A resource anyone may call (health, version, the OpenAPI document, token refresh). */
export function publicResource(
  app: FastifyInstance,
  url: string,
  handlers: Partial<Record<Method, RouteHandlerMethod>>,
): void {
  register(app, url, handlers);
}

function register(
  app: FastifyInstance,
  url: string,
  routes: Partial<Record<Method, RouteHandlerMethod>>,
  onRequest?: onRequestAsyncHookHandler,
): void {
  const allowed = METHODS.filter((method) => routes[method]);
  const allow = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
  const refused = [...METHODS.filter((method) => !routes[method]), ...OTHER_METHODS];
  for (const path of bothSlashes(url)) {
    for (const method of allowed) {
      const handler = routes[method];
      if (handler) app.route({ method, url: path, onRequest, handler });
    }
    app.route({
      method: "OPTIONS",
      url: path,
      handler: async (_request, reply) => reply.code(204).header("allow", allow).send(),
    });
    app.route({
      method: refused,
      url: path,
      // Refused before the body is read, as Django REST framework does.
      onRequest: async (request, reply) => {
        reply.header("allow", allow);
        throw new TRPCError({
          code: "METHOD_NOT_SUPPORTED",
          message: `Method "${request.method}" not allowed.`,
        });
      },
      handler: async () => undefined,
    });
  }
}
