import type { Db } from "../../src/db";
import { createCaller, createTRPCContext } from "../../src/index";
import { createToken } from "../../src/services/token";
import { createUserWithOrganization } from "../../src/services/user";

let counter = 0;

/** A new organization with one user and an API key, and a tRPC caller authenticated as it. */
export async function createTenant(db: Db) {
  counter += 1;
  const user = await createUserWithOrganization(db, {
    email: `user${counter}-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
    password: "correct horse battery",
  });
  const actor = { userId: user.id, organizationId: user.organizationId };
  const { id: tokenId, token } = await createToken(
    db,
    actor,
    { name: "default", kind: "key" },
    undefined,
  );
  const headers = { authorization: `Token ${token}` };
  const caller = createCaller(createTRPCContext({ db, headers }));
  return { user, actor, token, tokenId, headers, caller };
}
