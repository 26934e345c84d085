import { JobByIdInput } from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import { cancelJob, getJob } from "../services/job";
import { protectedProcedure } from "../trpc";

export const jobRouter = {
  byId: protectedProcedure
    .input(JobByIdInput)
    .query(({ ctx, input }) => getJob(ctx.db, ctx.actor, input.id)),
  cancel: protectedProcedure
    .input(JobByIdInput)
    .mutation(({ ctx, input }) => cancelJob(ctx.db, ctx.jobs, ctx.actor, input.id)),
} satisfies TRPCRouterRecord;
