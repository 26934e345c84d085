import type { Db } from "../../src/db";
import { createCaller, createTRPCContext } from "../../src/index";
import { createApiToken, createUserWithOrganization } from "../../src/services/user";

let counter = 0;

/** A new organization with one user and an API token, and a tRPC caller authenticated as it. */
export async function createTenant(db: Db) {
  counter += 1;
  const user = await createUserWithOrganization(db, {
    email: `user${counter}-${Date.now()}@example.com`,
    password: "correct horse battery",
  });
  const actor = { userId: user.id, organizationId: user.organizationId };
  const { token } = await createApiToken(db, actor);
  const headers = { authorization: `Token ${token}` };
  const caller = createCaller(createTRPCContext({ db, headers }));
  return { user, actor, token, headers, caller };
}
