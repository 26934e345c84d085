import {
  AnnotationByIdInput,
  AnnotationCreateInput,
  AnnotationListInput,
  AnnotationUpdateInput,
} from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import {
  createAnnotation,
  deleteAnnotation,
  getAnnotation,
  listAnnotations,
  updateAnnotation,
} from "../services/annotation";
import { protectedProcedure } from "../trpc";

export const annotationRouter = {
  list: protectedProcedure
    .input(AnnotationListInput)
    .query(({ ctx, input }) => listAnnotations(ctx.db, ctx.actor, input.task)),
  byId: protectedProcedure
    .input(AnnotationByIdInput)
    .query(({ ctx, input }) => getAnnotation(ctx.db, ctx.actor, input.id)),
  create: protectedProcedure
    .input(AnnotationCreateInput)
    .mutation(({ ctx, input }) => createAnnotation(ctx.db, ctx.actor, input)),
  update: protectedProcedure
    .input(AnnotationUpdateInput)
    .mutation(({ ctx, input }) => updateAnnotation(ctx.db, ctx.actor, input)),
  delete: protectedProcedure.input(AnnotationByIdInput).mutation(async ({ ctx, input }) => {
    await deleteAnnotation(ctx.db, ctx.actor, input.id);
    return { id: input.id };
  }),
} satisfies TRPCRouterRecord;
