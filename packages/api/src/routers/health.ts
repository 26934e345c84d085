import type { TRPCRouterRecord } from "@trpc/server";
import { checkDatabase } from "../services/health";
import { publicProcedure } from "../trpc";

export const healthRouter = {
  check: publicProcedure.query(({ ctx }) => checkDatabase(ctx.db)),
} satisfies TRPCRouterRecord;
