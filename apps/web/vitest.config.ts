import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "web (browser)",
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/e2e/server.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One server and one browser: the files share them and run one after another.
    fileParallelism: false,
  },
});
