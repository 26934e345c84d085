import {
  TaskByIdInput,
  type TaskCreateInput,
  TaskImportInput,
  TaskListInput,
  TaskUpdateInput,
} from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import { checkIdempotencyKey, withIdempotencyKey } from "../services/idempotency";
import { importTaskItems } from "../services/import";
import { createTask, deleteTask, getTask, listTasks, updateTask } from "../services/task";
import { protectedProcedure } from "../trpc";

/**
 * `task.create` takes its input unparsed: the service checks it in Label Studio's order (the
 * project before the fields) with Label Studio's messages. The function parser only types it.
 */
const rawTaskCreateInput = (input: unknown) =>
  input as TaskCreateInput & { idempotencyKey?: string };

export const taskRouter = {
  create: protectedProcedure.input(rawTaskCreateInput).mutation(async ({ ctx, input }) => {
    // The key is not part of the task: it is taken out before the body is checked.
    const { idempotencyKey, ...body } = (input ?? {}) as { idempotencyKey?: unknown };
    const key = checkIdempotencyKey(idempotencyKey);
    const request = key === undefined ? input : body;
    const outcome = await withIdempotencyKey(
      ctx.db,
      ctx.actor,
      { operation: "task.create", key, request },
      (db) => createTask(db, ctx.actor, request),
    );
    return outcome.response;
  }),
  import: protectedProcedure
    .input(TaskImportInput)
    .mutation(({ ctx, input }) => importTaskItems(ctx.db, ctx.actor, input)),
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
