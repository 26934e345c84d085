import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

/**
 * Every suite of the repository. The api suites run once on PGlite and, when
 * TEST_DATABASE_URL is set, once more on PostgreSQL; the browser tests need Chromium. In CI
 * nothing may be skipped.
 */
const postgresUrl = process.env.TEST_DATABASE_URL;
if (process.env.CI && !postgresUrl) {
  throw new Error("CI must set TEST_DATABASE_URL so that the PostgreSQL suites run.");
}
if (!postgresUrl) {
  console.warn("TEST_DATABASE_URL is not set: the PostgreSQL suites are skipped (PGlite only).");
}

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(chromium);
if (process.env.CI && !hasChromium) {
  throw new Error(`CI must install Chromium (${chromium}) so that the browser tests run.`);
}
if (!hasChromium) {
  console.warn(
    `No Chromium at ${chromium}: the browser tests are skipped (apt-get install chromium).`,
  );
}

export default defineConfig({
  test: {
    projects: [
      "packages/schema",
      ...(hasChromium ? ["apps/web"] : []),
      {
        test: { root: "apps/web", name: "web (unit)", include: ["test/unit/**/*.test.ts"] },
      },
      {
        extends: "packages/api/vitest.config.ts",
        test: { root: "packages/api", name: "api (pglite)", env: { TEST_DRIVER: "pglite" } },
      },
      {
        extends: "apps/cli/vitest.config.ts",
        test: { root: "apps/cli", name: "cli (pglite)", env: { TEST_DRIVER: "pglite" } },
      },
      ...(postgresUrl
        ? [
            {
              extends: "packages/api/vitest.config.ts",
              test: {
                root: "packages/api",
                name: "api (postgres)",
                env: { TEST_DRIVER: "postgres", TEST_DATABASE_URL: postgresUrl },
              },
            },
            {
              extends: "apps/cli/vitest.config.ts",
              test: {
                root: "apps/cli",
                name: "cli (postgres)",
                env: { TEST_DRIVER: "postgres", TEST_DATABASE_URL: postgresUrl },
              },
            },
            {
              // The client's retries need a database that can go down: PostgreSQL behind a proxy.
              extends: "packages/client/vitest.config.ts",
              test: {
                root: "packages/client",
                name: "client (postgres)",
                env: { TEST_DATABASE_URL: postgresUrl },
              },
            },
            {
              extends: "packages/reliability/vitest.config.ts",
              test: { root: "packages/reliability", env: { TEST_DATABASE_URL: postgresUrl } },
            },
          ]
        : []),
    ],
  },
});
