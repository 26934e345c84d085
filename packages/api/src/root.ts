import { healthRouter } from "./routers/health";
import { projectRouter } from "./routers/project";
import { taskRouter } from "./routers/task";
import { tokenRouter } from "./routers/token";
import { createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  health: healthRouter,
  project: projectRouter,
  task: taskRouter,
  token: tokenRouter,
});

export type AppRouter = typeof appRouter;
