/**
 * What the pages promise a browser: after logging in, only a path on this site (the login page
 * and the login form alike, as the form posts without JavaScript).
 */
import { request } from "node:http";
import { describe, expect, inject, it } from "vitest";
import { unescapeHtml } from "./html";
import { ADMIN } from "./server";

const baseURL = inject("baseURL");

/** The login form's fields as the server rendered them (React's action fields included). */
async function loginForm(cookie?: string): Promise<Map<string, string>> {
  const res = await fetch(`${baseURL}/login`, { headers: cookie ? { cookie } : {} });
  expect(res.status).toBe(200);
  const html = await res.text();
  const form = /<form[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1] ?? "";
  const fields = new Map<string, string>();
  for (const [, attributes = ""] of form.matchAll(/<input([^>]*)>/g)) {
    if (!/type="hidden"/.test(attributes)) continue;
    const name = /name="([^"]*)"/.exec(attributes)?.[1];
    if (name)
      fields.set(unescapeHtml(name), unescapeHtml(/value="([^"]*)"/.exec(attributes)?.[1] ?? ""));
  }
  return fields;
}

/** Posts the login form as a browser without JavaScript does, with `next` as given. */
async function postLogin(next: string): Promise<Response> {
  const body = new FormData();
  for (const [name, value] of await loginForm()) body.set(name, value);
  body.set("email", ADMIN.email);
  body.set("password", ADMIN.password);
  body.set("next", next);
  return fetch(`${baseURL}/login`, {
    method: "POST",
    body,
    redirect: "manual",
    headers: { origin: baseURL },
  });
}

function sessionCookie(res: Response): string {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("taskport_session="));
  expect(cookie).toBeDefined();
  return (cookie ?? "").split(";")[0] ?? "";
}

const HOSTILE = ["/\t/evil.example/phish", "/\\evil.example", "//evil.example", "/\n/evil.example"];

describe("after logging in", () => {
  it("the login form goes only to a path on this site", async () => {
    for (const next of HOSTILE) {
      const res = await postLogin(next);
      expect(res.status, JSON.stringify(next)).toBe(303);
      expect(res.headers.get("location"), JSON.stringify(next)).toBe("/projects");
    }
    const fine = await postLogin("/tokens?x=1");
    expect(fine.status).toBe(303);
    expect(fine.headers.get("location")).toBe("/tokens?x=1");
  });

  it("the login page sends a logged-in user only to a path on this site", async () => {
    const cookie = sessionCookie(await postLogin("/projects"));
    for (const next of HOSTILE) {
      const res = await fetch(`${baseURL}/login?next=${encodeURIComponent(next)}`, {
        headers: { cookie },
        redirect: "manual",
      });
      expect(res.status, JSON.stringify(next)).toBe(307);
      expect(res.headers.get("location"), JSON.stringify(next)).toBe("/projects");
    }
  });
});

/** Starts a POST with these headers, writes nothing more, and answers the status. */
function postHead(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseURL}${path}`, { method: "POST", headers });
    req.on("response", (res) => {
      res.resume();
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.flushHeaders();
  });
}

describe("bodies sent to the pages", () => {
  it("are refused before they are read when longer than the limit, or of no declared length", async () => {
    const form = { "content-type": "application/x-www-form-urlencoded" };
    await expect(
      postHead("/login", { ...form, "content-length": String(64 * 1024 * 1024) }),
    ).resolves.toBe(413);
    await expect(postHead("/login", { ...form, "transfer-encoding": "chunked" })).resolves.toBe(
      411,
    );
  });
});

describe("a change to the pages made with the session cookie", () => {
  it("is refused from another origin, and goes through from the app's own", async () => {
    const cookie = sessionCookie(await postLogin("/projects"));
    const post = (headers: Record<string, string>) =>
      fetch(`${baseURL}/projects`, {
        method: "POST",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded", ...headers },
        body: "title=Forged",
        redirect: "manual",
      });
    const otherPort = new URL(baseURL);
    otherPort.port = String(Number(otherPort.port) + 1);
    for (const headers of [
      { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      { origin: otherPort.origin, "sec-fetch-site": "same-site" },
    ]) {
      const res = await post(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(await res.text()).toMatch(/^CSRF Failed/);
    }
    const own = await post({ origin: baseURL, "sec-fetch-site": "same-origin" });
    expect(own.status).not.toBe(403);
  });
});

describe("the pages' Content Security Policy", () => {
  it("allows only the scripts the server wrote for this answer, by a fresh nonce", async () => {
    const nonces: string[] = [];
    for (const path of ["/", "/login", "/login"]) {
      const res = await fetch(`${baseURL}${path}`);
      const policy = res.headers.get("content-security-policy") ?? "";
      const scriptSrc = policy.split(";").find((d) => d.trim().startsWith("script-src")) ?? "";
      expect(scriptSrc).not.toContain("'unsafe-inline'");
      const nonce = /'nonce-([^']+)'/.exec(scriptSrc)?.[1];
      expect(nonce, policy).toBeDefined();
      nonces.push(nonce ?? "");
      const html = await res.text();
      const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1] ?? "");
      expect(scripts.length).toBeGreaterThan(0);
      for (const attributes of scripts) expect(attributes).toContain(`nonce="${nonce}"`);
    }
    expect(new Set(nonces).size).toBe(nonces.length);
  });
});
