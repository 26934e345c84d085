import { defineProject } from "vitest/config";

// The root config runs these suites once per database (TEST_DRIVER); run alone, PGlite.
export default defineProject({
  test: {
    name: "api",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/migrated.ts"],
    env: { TEST_DRIVER: process.env.TEST_DRIVER ?? "pglite" },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
