import { annotationRouter } from "./routers/annotation";
import { healthRouter } from "./routers/health";
import { jobRouter } from "./routers/job";
import { predictionRouter } from "./routers/prediction";
import { projectRouter } from "./routers/project";
import { storageRouter } from "./routers/storage";
import { taskRouter } from "./routers/task";
import { tokenRouter } from "./routers/token";
import { userRouter } from "./routers/user";
import { webhookRouter } from "./routers/webhook";
import { createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  annotation: annotationRouter,
  health: healthRouter,
  job: jobRouter,
  prediction: predictionRouter,
  project: projectRouter,
  storage: storageRouter,
  task: taskRouter,
  token: tokenRouter,
  user: userRouter,
  webhook: webhookRouter,
});

export type AppRouter = typeof appRouter;
