/**
 * The tRPC path's ceiling without a database: the same stack as Taskport's (Fastify adapter,
 * superjson, a context, a middleware, the raw create input) with a procedure that answers a
 * fixed task instead of touching the database.
 */
import { createServer } from "node:http";
import { initTRPC } from "@trpc/server";
import { fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import Fastify, { type FastifyRequest } from "fastify";
import superjson from "superjson";
import { fixedTask } from "./fixed-task";

const t = initTRPC
  .context<{ authorization: string | undefined }>()
  .create({ transformer: superjson, isDev: false });
const authed = t.procedure.use(({ ctx, next }) =>
  next({ ctx: { ...ctx, userId: ctx.authorization ? 1 : 0 } }),
);
const now = new Date();
const router = t.router({
  task: t.router({
    create: authed
      .input((raw: unknown) => raw as { data: Record<string, unknown>; project: number })
      .mutation(({ input }) => fixedTask(input.data, input.project, now)),
  }),
});

const app = Fastify({
  routerOptions: { maxParamLength: 5000 },
  serverFactory: (h) => createServer(h),
});
await app.register(fastifyTRPCPlugin, {
  prefix: "/api/trpc",
  trpcOptions: {
    router,
    createContext: ({ req }: { req: FastifyRequest }) => ({
      authorization: req.headers.authorization,
    }),
  },
});
await app.listen({ port: Number(process.argv[2] ?? 0), host: "127.0.0.1" });
const address = app.server.address();
console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
