import {
  StorageByIdInput,
  StorageCreateInput,
  StorageListInput,
  StorageUpdateInput,
  StorageValidateInput,
} from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import {
  cancelSync,
  createStorage,
  deleteStorage,
  getStorage,
  listStorages,
  type StorageSettings,
  syncStorage,
  updateStorage,
  validateStorage,
} from "../services/storage";
import { type Context, protectedProcedure } from "../trpc";

const settingsOf = (ctx: Context): StorageSettings => ({
  secretKey: ctx.auth.secretKey,
  localFilesRoot: ctx.localFilesRoot,
  network: ctx.network,
});

export const storageRouter = {
  create: protectedProcedure.input(StorageCreateInput).mutation(({ ctx, input }) => {
    const { type, ...fields } = input;
    return createStorage(ctx.db, settingsOf(ctx), ctx.actor, type, fields);
  }),
  list: protectedProcedure
    .input(StorageListInput)
    .query(({ ctx, input }) => listStorages(ctx.db, ctx.actor, input.type, input.project)),
  byId: protectedProcedure
    .input(StorageByIdInput)
    .query(({ ctx, input }) => getStorage(ctx.db, ctx.actor, input.type, input.id)),
  update: protectedProcedure.input(StorageUpdateInput).mutation(({ ctx, input }) => {
    const { type, id, ...fields } = input;
    return updateStorage(ctx.db, settingsOf(ctx), ctx.actor, type, id, fields);
  }),
  delete: protectedProcedure.input(StorageByIdInput).mutation(async ({ ctx, input }) => {
    await deleteStorage(ctx.db, ctx.jobs, ctx.actor, input.type, input.id);
    return { id: input.id };
  }),
  validate: protectedProcedure.input(StorageValidateInput).mutation(async ({ ctx, input }) => {
    const { type, ...fields } = input;
    await validateStorage(ctx.db, settingsOf(ctx), ctx.actor, type, fields);
    return { ok: true as const };
  }),
  sync: protectedProcedure
    .input(StorageByIdInput)
    .mutation(({ ctx, input }) =>
      syncStorage(ctx.db, settingsOf(ctx), ctx.jobs, ctx.actor, input.type, input.id),
    ),
  cancelSync: protectedProcedure
    .input(StorageByIdInput)
    .mutation(({ ctx, input }) => cancelSync(ctx.db, ctx.jobs, ctx.actor, input.type, input.id)),
} satisfies TRPCRouterRecord;
