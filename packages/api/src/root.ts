import { healthRouter } from "./routers/health";
import { projectRouter } from "./routers/project";
import { taskRouter } from "./routers/task";
import { createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  health: healthRouter,
  project: projectRouter,
  task: taskRouter,
});

export type AppRouter = typeof appRouter;
