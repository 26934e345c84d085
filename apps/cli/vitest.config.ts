import { defineProject } from "vitest/config";

// The root config runs this suite once per database (TEST_DRIVER); run alone, PGlite.
export default defineProject({
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    globalSetup: ["../../packages/api/test/support/migrated.ts"],
    env: { TEST_DRIVER: process.env.TEST_DRIVER ?? "pglite" },
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
