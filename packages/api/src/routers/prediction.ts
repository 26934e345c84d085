import {
  PredictionByIdInput,
  PredictionCreateInput,
  PredictionListInput,
  PredictionUpdateInput,
} from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import {
  createPrediction,
  deletePrediction,
  getPrediction,
  listPredictions,
  updatePrediction,
} from "../services/prediction";
import { protectedProcedure } from "../trpc";

export const predictionRouter = {
  list: protectedProcedure
    .input(PredictionListInput)
    .query(({ ctx, input }) => listPredictions(ctx.db, ctx.actor, input)),
  byId: protectedProcedure
    .input(PredictionByIdInput)
    .query(({ ctx, input }) => getPrediction(ctx.db, ctx.actor, input.id)),
  create: protectedProcedure
    .input(PredictionCreateInput)
    .mutation(({ ctx, input }) => createPrediction(ctx.db, ctx.actor, input)),
  update: protectedProcedure
    .input(PredictionUpdateInput)
    .mutation(({ ctx, input }) => updatePrediction(ctx.db, ctx.actor, input)),
  delete: protectedProcedure.input(PredictionByIdInput).mutation(async ({ ctx, input }) => {
    await deletePrediction(ctx.db, ctx.actor, input.id);
    return { id: input.id };
  }),
} satisfies TRPCRouterRecord;
