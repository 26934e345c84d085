import { defineConfig } from "vitest/config";

/**
 * Every suite of the repository. The api suites run once on PGlite and, when
 * TEST_DATABASE_URL is set, once more on PostgreSQL. In CI both are required.
 */
const postgresUrl = process.env.TEST_DATABASE_URL;
if (process.env.CI && !postgresUrl) {
  throw new Error("CI must set TEST_DATABASE_URL so that the PostgreSQL suites run.");
}
if (!postgresUrl) {
  console.warn("TEST_DATABASE_URL is not set: the PostgreSQL suites are skipped (PGlite only).");
}

export default defineConfig({
  test: {
    projects: [
      "packages/schema",
      {
        extends: "packages/api/vitest.config.ts",
        test: { root: "packages/api", name: "api (pglite)", env: { TEST_DRIVER: "pglite" } },
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
          ]
        : []),
    ],
  },
});
