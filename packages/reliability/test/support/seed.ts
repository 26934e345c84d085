/** A tenant (organization, user, API token) and a project, written straight to the database. */
import { createPostgresDb } from "@taskport/api/db";
import { createTenant } from "@taskport/api/test-support";

export const LABEL_CONFIG = '<View><Text name="text" value="$text"/></View>';

export async function seedTenant(url: string, projects = 1) {
  const db = createPostgresDb(url, { max: 2 });
  try {
    const { token, actor, caller } = await createTenant(db);
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
