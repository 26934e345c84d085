import {
  WebhookByIdInput,
  WebhookCreateInput,
  WebhookDeliveryListInput,
  WebhookListInput,
  WebhookRedeliverInput,
  WebhookUpdateInput,
} from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  redeliver,
  rotateWebhookSecret,
  updateWebhook,
  webhookInfo,
} from "../services/webhook";
import { protectedProcedure } from "../trpc";

export const webhookRouter = {
  create: protectedProcedure
    .input(WebhookCreateInput)
    .mutation(({ ctx, input }) => createWebhook(ctx.db, ctx.network, ctx.actor, input)),
  list: protectedProcedure
    .input(WebhookListInput)
    .query(({ ctx, input }) => listWebhooks(ctx.db, ctx.actor, input.project)),
  byId: protectedProcedure
    .input(WebhookByIdInput)
    .query(({ ctx, input }) => getWebhook(ctx.db, ctx.actor, input.id)),
  update: protectedProcedure
    .input(WebhookUpdateInput)
    .mutation(({ ctx, input }) => updateWebhook(ctx.db, ctx.network, ctx.actor, input)),
  delete: protectedProcedure.input(WebhookByIdInput).mutation(async ({ ctx, input }) => {
    await deleteWebhook(ctx.db, ctx.actor, input.id);
    return { id: input.id };
  }),
  info: protectedProcedure.query(() => webhookInfo()),
  rotateSecret: protectedProcedure
    .input(WebhookByIdInput)
    .mutation(({ ctx, input }) => rotateWebhookSecret(ctx.db, ctx.actor, input.id)),
  deliveries: protectedProcedure
    .input(WebhookDeliveryListInput)
    .query(({ ctx, input }) => listDeliveries(ctx.db, ctx.actor, input.id, input.limit)),
  redeliver: protectedProcedure
    .input(WebhookRedeliverInput)
    .mutation(({ ctx, input }) => redeliver(ctx.db, ctx.actor, input.id, input.delivery)),
} satisfies TRPCRouterRecord;
