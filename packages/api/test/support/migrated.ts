/**
 * Vitest global setup of the suites that take a database per test file: the migrations run
 * once per run, and every file copies the result. A fresh PGlite runs initdb (seconds of
 * WASM); loading a dump of a migrated one skips initdb and the migrations. On PostgreSQL, a
 * migrated database is the template each file's database is created from.
 *
 * The project's env decides what is made: TEST_DRIVER=pglite a PGlite dump; else, with
 * TEST_DATABASE_URL, a template database on that server (dropped afterwards: the server
 * outlives the run). Without this setup, each test file migrates its database itself.
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

export default async function setup(project: TestProject) {
  const env = { ...process.env, ...project.config.env };
  const cleanups: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    if (env.TEST_DRIVER === "pglite") {
      const folder = await mkdtemp(join(tmpdir(), "taskport-pglite-dump-"));
      cleanups.push(() => rm(folder, { recursive: true, force: true }));
      const client = await PGlite.create();
      await migratePglite(client);
      const dump = await client.dumpDataDir("none");
      await client.close();
      const file = join(folder, "migrated.tar");
      await writeFile(file, Buffer.from(await dump.arrayBuffer()));
      project.provide("migratedPgliteDump", file);
    }
    const base = env.TEST_DATABASE_URL;
    if (base && env.TEST_DRIVER !== "pglite") {
      const name = `taskport_template_${randomBytes(6).toString("hex")}`;
      const admin = postgres(base, { max: 1, onnotice: () => {} });
      cleanups.push(async () => {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end({ timeout: 5 });
      });
      await admin.unsafe(`create database ${name}`);
      await migratePostgres(withDatabaseUrl(base, name));
      project.provide("migratedPostgresTemplate", { base, name });
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
