import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { whoAmI } from "../services/current-user";
import { createUserInOrganization } from "../services/user";
import { protectedProcedure } from "../trpc";

/** The service checks the email's form and the password's length with clear messages. */
const UserCreateInput = z.object({
  email: z.string().max(254),
  password: z.string().max(1024),
});

export const userRouter = {
  /** The caller, as Label Studio's whoami answers. */
  me: protectedProcedure.query(({ ctx }) => whoAmI(ctx.db, ctx.actor)),
  create: protectedProcedure
    .input(UserCreateInput)
    .mutation(({ ctx, input }) => createUserInOrganization(ctx.db, ctx.actor, input)),
} satisfies TRPCRouterRecord;
