import { UserCreateInput } from "@taskport/schema";
import type { TRPCRouterRecord } from "@trpc/server";
import { whoAmI } from "../services/current-user";
import { createUserInOrganization } from "../services/user";
import { protectedProcedure } from "../trpc";

export const userRouter = {
  /** The caller, as Label Studio's whoami answers. */
  me: protectedProcedure.query(({ ctx }) => whoAmI(ctx.db, ctx.actor)),
  create: protectedProcedure
    .input(UserCreateInput)
    .mutation(({ ctx, input }) => createUserInOrganization(ctx.db, ctx.actor, input)),
} satisfies TRPCRouterRecord;
