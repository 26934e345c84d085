import { defineProject } from "vitest/config";

// The client's retries need a database that can go down: PostgreSQL (TEST_DATABASE_URL).
export default defineProject({
  test: {
    name: "client",
    include: ["test/**/*.test.ts"],
    globalSetup: ["../api/test/support/migrated.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
