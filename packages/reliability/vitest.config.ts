import { defineProject } from "vitest/config";

// Fault-injection suites: they start Taskport server processes and, for the outage test, a
// PostgreSQL cluster of their own. Files run one after another: they share the machine's cores.
export default defineProject({
  test: {
    name: "reliability",
    include: ["test/**/*.test.ts"],
    globalSetup: ["../api/test/support/migrated.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
