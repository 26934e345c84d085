import { TokenByIdInput, TokenCreateInput } from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import { createToken, listTokens, revokeToken } from "../services/token";
import { protectedProcedure } from "../trpc";

export const tokenRouter = {
  create: protectedProcedure
    .input(TokenCreateInput)
    .mutation(({ ctx, input }) => createToken(ctx.db, ctx.actor, input, ctx.auth.secretKey)),
  list: protectedProcedure.query(({ ctx }) => listTokens(ctx.db, ctx.actor)),
  revoke: protectedProcedure
    .input(TokenByIdInput)
    .mutation(({ ctx, input }) => revokeToken(ctx.db, ctx.actor, input.id)),
} satisfies TRPCRouterRecord;
