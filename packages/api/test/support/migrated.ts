/**
 * Vitest global setup of the suites that take a database per test file: the migrations run
 * once per run, and every file copies the result. A fresh PGlite runs initdb (seconds of
 * WASM); loading a dump of a migrated one skips initdb and the migrations. On PostgreSQL, a
 * migrated database is the template each file's database is created from.
 *
 * The project's env decides what is made: TEST_DRIVER=pglite a PGlite dump; else, with
 * TEST_DATABASE_URL, a template database on that server (dropped afterwards: the server
 * outlives the run). Without this setup, each test file migrates its database itself.
 *
 * Global setups run one after another in Vitest's process, each project's in a module of its
 * own: the projects share one dump and one template per server through `globalThis`, and the
 * last teardown removes them.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { migratePglite, migratePostgres } from "../../src/db";
import { withDatabaseUrl } from "./db";

interface Shared {
  projects: number;
  pgliteDump?: Promise<string>;
  /** Template names by the server URL they were made on. */
  templates: Map<string, Promise<string>>;
  cleanups: (() => Promise<void>)[];
}

const SHARED = Symbol.for("taskport.test.migrated");
const store = globalThis as { [SHARED]?: Shared };

async function dumpMigratedPglite(shared: Shared): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "taskport-pglite-dump-"));
  shared.cleanups.push(() => rm(folder, { recursive: true, force: true }));
  const client = await PGlite.create();
  await migratePglite(client);
  const dump = await client.dumpDataDir("none");
  await client.close();
  const file = join(folder, "migrated.tar");
  await writeFile(file, Buffer.from(await dump.arrayBuffer()));
  return file;
}

async function migrateTemplate(shared: Shared, base: string): Promise<string> {
  const name = `taskport_template_${randomBytes(6).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  shared.cleanups.push(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  });
  await admin.unsafe(`create database ${name}`);
  await migratePostgres(withDatabaseUrl(base, name));
  return name;
}

export default async function setup(project: TestProject) {
  const env = { ...process.env, ...project.config.env };
  store[SHARED] ??= { projects: 0, templates: new Map(), cleanups: [] };
  const shared = store[SHARED];
  shared.projects += 1;
  const teardown = async () => {
    shared.projects -= 1;
    if (shared.projects > 0) return;
    delete store[SHARED];
    for (const cleanup of shared.cleanups.reverse()) await cleanup();
  };
  try {
    if (env.TEST_DRIVER === "pglite") {
      shared.pgliteDump ??= dumpMigratedPglite(shared);
      project.provide("migratedPgliteDump", await shared.pgliteDump);
    }
    const base = env.TEST_DATABASE_URL;
    if (base && env.TEST_DRIVER !== "pglite") {
      let template = shared.templates.get(base);
      if (!template) {
        template = migrateTemplate(shared, base);
        shared.templates.set(base, template);
      }
      project.provide("migratedPostgresTemplate", { base, name: await template });
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
