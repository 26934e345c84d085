import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/server/config";

const env = (vars: Record<string, string> = {}) => ({ NODE_ENV: "test", ...vars }) as const;

describe("the database settings", () => {
  it("are left to the pool's defaults when unset", () => {
    expect(readConfig(env()).postgres).toEqual({
      max: undefined,
      prepare: undefined,
      connectTimeoutMs: undefined,
      poolTimeoutMs: undefined,
      statementTimeoutMs: undefined,
      lockTimeoutMs: undefined,
      answerTimeoutMs: undefined,
    });
  });

  it("read every bound, prepared statements off, and 0 for a server timeout not sent", () => {
    const config = readConfig(
      env({
        DATABASE_POOL_SIZE: "4",
        DATABASE_PREPARE: "false",
        DATABASE_CONNECT_TIMEOUT_MS: "1500",
        DATABASE_POOL_TIMEOUT_MS: "1000",
        DATABASE_STATEMENT_TIMEOUT_MS: "0",
        DATABASE_LOCK_TIMEOUT_MS: "0",
        DATABASE_ANSWER_TIMEOUT_MS: "3000",
      }),
    );
    expect(config.postgres).toEqual({
      max: 4,
      prepare: false,
      connectTimeoutMs: 1500,
      poolTimeoutMs: 1000,
      statementTimeoutMs: 0,
      lockTimeoutMs: 0,
      answerTimeoutMs: 3000,
    });
  });

  it("refuse a value that is not one, naming the variable", () => {
    expect(() => readConfig(env({ DATABASE_PREPARE: "no" }))).toThrow(
      'DATABASE_PREPARE must be true or false, got "no".',
    );
    expect(() => readConfig(env({ DATABASE_STATEMENT_TIMEOUT_MS: "-1" }))).toThrow(
      'DATABASE_STATEMENT_TIMEOUT_MS must be a whole number of milliseconds (0 or more), got "-1".',
    );
    expect(() => readConfig(env({ DATABASE_ANSWER_TIMEOUT_MS: "0" }))).toThrow(
      'DATABASE_ANSWER_TIMEOUT_MS must be a positive integer, got "0".',
    );
  });
});
