import {
  ProjectByIdInput,
  ProjectConfigCheckInput,
  ProjectCreateInput,
  ProjectListInput,
  ProjectUpdateInput,
} from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import { listExportFormats } from "../services/export";
import {
  checkProjectConfig,
  createProject,
  deleteProject,
  getProject,
  getProjectSummary,
  listProjects,
  updateProject,
} from "../services/project";
import { protectedProcedure } from "../trpc";

export const projectRouter = {
  create: protectedProcedure
    .input(ProjectCreateInput)
    .mutation(({ ctx, input }) => createProject(ctx.db, ctx.actor, input)),
  list: protectedProcedure
    .input(ProjectListInput.optional())
    .query(({ ctx, input }) =>
      listProjects(ctx.db, ctx.actor, input ?? ProjectListInput.parse({})),
    ),
  byId: protectedProcedure
    .input(ProjectByIdInput)
    .query(({ ctx, input }) => getProject(ctx.db, ctx.actor, input.id)),
  /** Label Studio's export formats; the export itself is a file, served over REST. */
  exportFormats: protectedProcedure
    .input(ProjectByIdInput)
    .query(({ ctx, input }) => listExportFormats(ctx.db, ctx.actor, input.id)),
  update: protectedProcedure
    .input(ProjectUpdateInput)
    .mutation(({ ctx, input }) => updateProject(ctx.db, ctx.actor, input)),
  delete: protectedProcedure.input(ProjectByIdInput).mutation(async ({ ctx, input }) => {
    await deleteProject(ctx.db, ctx.actor, input.id);
    return { id: input.id };
  }),
  /** A label config checked against the project's tasks and annotations. */
  checkConfig: protectedProcedure
    .input(ProjectConfigCheckInput)
    .query(({ ctx, input }) => checkProjectConfig(ctx.db, ctx.actor, input)),
  summary: protectedProcedure
    .input(ProjectByIdInput)
    .query(({ ctx, input }) => getProjectSummary(ctx.db, ctx.actor, input.id)),
} satisfies TRPCRouterRecord;
