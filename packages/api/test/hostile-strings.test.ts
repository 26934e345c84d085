/**
 * Strings PostgreSQL cannot store (U+0000, lone surrogates), a cookie that does not decode and
 * a label config nested far too deep, in every input field, over real HTTP (REST and tRPC)
 * and through the services the web forms call: each a 400 (or the 401 of no credentials) that
 * names the field, never a 500, and nothing written.
 */
import { transformer } from "@taskport/schema";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { count } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { apiTokens, organizations, projects, users } from "../src/db/schema";
import type { AppRouter } from "../src/index";
import { createUserWithOrganization, verifyLogin } from "../src/services/user";
import { type RestServer, send, startRestServer } from "./rest/server";
import { createTenant } from "./support/fixtures";

let rest: RestServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;

beforeAll(async () => {
  rest = await startRestServer(4 * 1024 * 1024);
});
afterAll(async () => {
  await rest?.close();
});
beforeEach(async () => {
  await rest.tdb.truncate();
  tenant = await createTenant(rest.tdb.db);
});

const call = (method: string, path: string, options: Parameters<typeof send>[3] = {}) =>
  send(rest.base, method, path, { ...options, headers: { ...tenant.headers, ...options.headers } });

function trpc() {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${rest.base}/api/trpc`, transformer, headers: tenant.headers })],
  });
}

async function rows() {
  const n = async (
    table: typeof projects | typeof apiTokens | typeof users | typeof organizations,
  ) => (await rest.tdb.db.select({ n: count() }).from(table))[0]?.n ?? 0;
  return {
    projects: await n(projects),
    tokens: await n(apiTokens),
    users: await n(users),
    organizations: await n(organizations),
  };
}

/** What a tRPC call's rejection tells the client: code, status and the refused fields. */
async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const data = (error as TRPCClientError<AppRouter>).data as {
    code: string;
    httpStatus: number;
    zodError?: { fieldErrors: Record<string, string[]> };
  };
  return { code: data.code, status: data.httpStatus, fields: data.zodError?.fieldErrors };
}

const NUL = "contains U+0000 (NUL), which cannot be stored";
const SURROGATE = "contains a lone UTF-16 surrogate, which is not valid Unicode";
const deepConfig = (depth: number) =>
  `${"<View>".repeat(depth)}<Text name="text" value="$text"/>${"</View>".repeat(depth)}`;

describe("a session cookie that does not decode", () => {
  it("alone, with no other credentials, is a 401 on REST and tRPC", async () => {
    for (const cookie of [
      "taskport_session=%ff",
      "taskport_session=%",
      "taskport_session=%E0%A4%A",
    ]) {
      const restAnswer = await send(rest.base, "GET", "/api/projects/", { headers: { cookie } });
      expect(restAnswer.status, cookie).toBe(401);
      const trpcAnswer = await send(rest.base, "GET", "/api/trpc/project.list", {
        headers: { cookie },
      });
      expect(trpcAnswer.status, cookie).toBe(401);
    }
    expect(rest.logged).toEqual([]);
  });
});

describe("unstorable strings in input fields", () => {
  it("a project's title or description: 400 naming the field, on REST and tRPC", async () => {
    const before = await rows();
    const cases: [Record<string, string>, string, string][] = [
      [{ title: "ab\u0000c" }, "title", NUL],
      [{ title: "abc", description: "a\u0000" }, "description", NUL],
      [{ title: "abc", description: "a\ud800" }, "description", SURROGATE],
      [{ title: "abc", expert_instruction: "x\udfffy" }, "expert_instruction", SURROGATE],
      [{ title: "abc", model_version: "v\u0000" }, "model_version", NUL],
      [{ title: "abc", task_data_login: "\u0000" }, "task_data_login", NUL],
    ];
    for (const [body, field, reason] of cases) {
      const answer = await call("POST", "/api/projects/", { json: body });
      expect(answer.status, `JSON ${field}: ${answer.text}`).toBe(400);
      expect(answer.body.validation_errors).toEqual({ [field]: [`This field ${reason}.`] });
      // A form's UTF-8 cannot carry a lone surrogate (the client sends U+FFFD): U+0000 only.
      if (reason === NUL) {
        const form = await call("POST", "/api/projects/", { body: new URLSearchParams(body) });
        expect(form.status, `form ${field}: ${form.text}`).toBe(400);
        expect(form.body.validation_errors).toEqual({ [field]: [`This field ${reason}.`] });
      }
      expect(await refusal(trpc().project.create.mutate(body))).toEqual({
        code: "BAD_REQUEST",
        status: 400,
        fields: { [field]: [`This field ${reason}.`] },
      });
    }
    const project = await tenant.caller.project.create({ title: "Kept" });
    const patched = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { description: "\ud800" },
    });
    expect(patched.status).toBe(400);
    expect(patched.body.validation_errors).toEqual({ description: [`This field ${SURROGATE}.`] });
    expect(
      await refusal(trpc().project.update.mutate({ id: project.id, title: "x\u0000yz" })),
    ).toMatchObject({ status: 400, fields: { title: [`This field ${NUL}.`] } });
    expect((await tenant.caller.project.byId({ id: project.id })).title).toBe("Kept");
    expect(await rows()).toEqual({ ...before, projects: before.projects + 1 });
    expect(rest.logged).toEqual([]);
  });

  it("control weights' keys and a list's search: 400 naming the field", async () => {
    const answer = await call("POST", "/api/projects/", {
      json: { title: "abc", control_weights: { "a\u0000": { overall: 1 } } },
    });
    expect(answer.status, answer.text).toBe(400);
    expect(Object.keys(answer.body.validation_errors)).toEqual(["control_weights"]);
    for (const query of ["search=%00", "title=a%00"]) {
      const list = await call("GET", `/api/projects/?${query}`);
      expect(list.status, `${query}: ${list.text}`).toBe(400);
      expect(Object.keys(list.body.validation_errors)).toEqual([query.split("=")[0]]);
    }
    expect(await refusal(trpc().project.list.query({ search: "\u0000" }))).toMatchObject({
      status: 400,
      fields: { search: [`This field ${NUL}.`] },
    });
    expect(rest.logged).toEqual([]);
  });

  it("a token's name: 400 naming the field, on REST and tRPC", async () => {
    const before = await rows();
    const answer = await call("POST", "/api/tokens/", { json: { name: "ci\u0000" } });
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body.validation_errors).toEqual({ name: [`This field ${NUL}.`] });
    expect(await refusal(trpc().token.create.mutate({ name: "\udc00ci" }))).toEqual({
      code: "BAD_REQUEST",
      status: 400,
      fields: { name: [`This field ${SURROGATE}.`] },
    });
    expect(await rows()).toEqual(before);
  });

  it("a user's email: 400 naming the field, on tRPC and in the sign-up and login forms", async () => {
    const before = await rows();
    expect(
      await refusal(
        trpc().user.create.mutate({ email: "a\u0000@example.com", password: "long enough pw" }),
      ),
    ).toEqual({ code: "BAD_REQUEST", status: 400, fields: { email: [`This field ${NUL}.`] } });
    const signUp = await createUserWithOrganization(rest.tdb.db, {
      email: "b\u0000@example.com",
      password: "long enough pw",
    }).catch((e: unknown) => e);
    expect(signUp).toMatchObject({ code: "BAD_REQUEST", message: `This field ${NUL}.` });
    const organization = await createUserWithOrganization(rest.tdb.db, {
      email: "c@example.com",
      password: "long enough pw",
      organizationTitle: "Org\ud800",
    }).catch((e: unknown) => e);
    expect(organization).toMatchObject({
      code: "BAD_REQUEST",
      message: `This field ${SURROGATE}.`,
    });
    const login = await verifyLogin(rest.tdb.db, "d\u0000@example.com", "pw", "127.0.0.1").catch(
      (e: unknown) => e,
    );
    expect(login).toMatchObject({ code: "BAD_REQUEST", message: `This field ${NUL}.` });
    expect(await rows()).toEqual(before);
  });
});

describe("a label config nested 60,000 tags deep", () => {
  const message = "Label config is nested deeper than 100 tags.";

  it("is a 400 naming label_config on create, update and both validate endpoints", async () => {
    const before = await rows();
    const deep = deepConfig(60_000);
    const created = await call("POST", "/api/projects/", {
      json: { title: "Deep", label_config: deep },
    });
    expect(created.status, created.text.slice(0, 300)).toBe(400);
    expect(created.body.validation_errors).toEqual({ label_config: [message] });
    const validated = await call("POST", "/api/projects/validate/", {
      json: { label_config: deep },
    });
    expect(validated.status).toBe(400);
    expect(validated.body.validation_errors).toEqual({ label_config: [message] });
    const project = await tenant.caller.project.create({ title: "Shallow" });
    const patched = await call("PATCH", `/api/projects/${project.id}/`, {
      json: { label_config: deep },
    });
    expect(patched.status).toBe(400);
    expect(patched.body.validation_errors).toEqual({ label_config: [message] });
    const checked = await call("POST", `/api/projects/${project.id}/validate/`, {
      json: { label_config: deep },
    });
    expect(checked.status).toBe(400);
    expect(await refusal(trpc().project.create.mutate({ label_config: deep }))).toEqual({
      code: "BAD_REQUEST",
      status: 400,
      fields: { label_config: [message] },
    });
    expect(await rows()).toEqual({ ...before, projects: before.projects + 1 });
    expect(rest.logged).toEqual([]);
  });

  it("100 levels is accepted, 101 is not", async () => {
    const ok = await call("POST", "/api/projects/validate/", {
      json: { label_config: deepConfig(100) },
    });
    expect(ok.status, ok.text).toBe(204);
    const refused = await call("POST", "/api/projects/validate/", {
      json: { label_config: deepConfig(101) },
    });
    expect(refused.status).toBe(400);
  });
});
