import { defineProject } from "vitest/config";

// The root config runs this suite once per database (TEST_DRIVER); run alone, PGlite.
export default defineProject({
  test: {
    name: "client",
    include: ["test/**/*.test.ts"],
    env: { TEST_DRIVER: process.env.TEST_DRIVER ?? "pglite" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
