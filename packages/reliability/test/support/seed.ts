/** A tenant (organization, user, API token) and a project, written straight to the database. */
import {
  createApiToken,
  createCaller,
  createTRPCContext,
  createUserWithOrganization,
} from "@taskport/api";
import { createPostgresDb } from "@taskport/api/db";

export const LABEL_CONFIG = '<View><Text name="text" value="$text"/></View>';

export async function seedTenant(url: string, projects = 1) {
  const db = createPostgresDb(url, { max: 2 });
  try {
    const user = await createUserWithOrganization(db, {
      email: `rel-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
      password: "reliability-password",
    });
    const actor = { userId: user.id, organizationId: user.organizationId };
    const { token } = await createApiToken(db, actor, "reliability");
    const caller = createCaller(createTRPCContext({ db, headers: {}, actor }));
    const projectIds: number[] = [];
    for (let i = 0; i < projects; i++) {
      projectIds.push(
        (await caller.project.create({ title: `Reliability ${i}`, label_config: LABEL_CONFIG })).id,
      );
    }
    return { token, projectIds, actor };
  } finally {
    await db.$close();
  }
}
