import {
  TaskByIdInput,
  type TaskCreateInput,
  TaskListInput,
  TaskUpdateInput,
} from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import { createTask, deleteTask, getTask, listTasks, updateTask } from "../services/task";
import { protectedProcedure } from "../trpc";

/**
 * `task.create` takes its input unparsed: the service checks it in Label Studio's order (the
 * project before the fields) with Label Studio's messages. The function parser only types it.
 */
const rawTaskCreateInput = (input: unknown) => input as TaskCreateInput;

export const taskRouter = {
  create: protectedProcedure
    .input(rawTaskCreateInput)
    .mutation(({ ctx, input }) => createTask(ctx.db, ctx.actor, input)),
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
} satisfies TRPCRouterRecord;
