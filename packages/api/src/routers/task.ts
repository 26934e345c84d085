import {
  ProjectByIdInput,
  TaskByIdInput,
  TaskCreateRequest,
  TaskImportInput,
  TaskListInput,
  TaskUpdateInput,
} from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import { keyedRequest } from "../services/idempotency";
import { importTasks } from "../services/import";
import {
  createTask,
  deleteProjectTasks,
  deleteTask,
  getTask,
  listTasks,
  updateTask,
} from "../services/task";
import { protectedProcedure } from "../trpc";

export const taskRouter = {
  // The input parser checks the body is an object and the key; the service checks the fields
  // after the project lookup, in Label Studio's order (TaskCreateRequest).
  create: protectedProcedure
    .input(TaskCreateRequest)
    .mutation(({ ctx, input }) => createTask(ctx.db, ctx.actor, input.body, input.idempotencyKey)),
  import: protectedProcedure.input(TaskImportInput).mutation(({ ctx, input }) => {
    const { idempotencyKey, ...request } = input;
    return importTasks(ctx.db, ctx.actor, {
      project: input.project,
      sources: [{ items: input.items }],
      commitToProject: input.commitToProject,
      returnTaskIds: input.returnTaskIds,
      preannotatedFromFields: input.preannotatedFromFields,
      idempotency: keyedRequest(idempotencyKey, request),
    });
  }),
  byId: protectedProcedure
    .input(TaskByIdInput)
    .query(({ ctx, input }) => getTask(ctx.db, ctx.actor, input.id)),
  list: protectedProcedure
    .input(TaskListInput)
    .query(({ ctx, input }) => listTasks(ctx.db, ctx.actor, input)),
  update: protectedProcedure
    .input(TaskUpdateInput)
    .mutation(({ ctx, input }) => updateTask(ctx.db, ctx.actor, input)),
  delete: protectedProcedure.input(TaskByIdInput).mutation(async ({ ctx, input }) => {
    await deleteTask(ctx.db, ctx.actor, input.id);
    return { id: input.id };
  }),
  /** Every task of the project (`id`); answers how many were deleted. */
  deleteAll: protectedProcedure.input(ProjectByIdInput).mutation(async ({ ctx, input }) => ({
    deleted: await deleteProjectTasks(ctx.db, ctx.actor, input.id),
  })),
} satisfies TRPCRouterRecord;
