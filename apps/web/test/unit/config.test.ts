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

describe("the outbound network policy", () => {
  it("is empty (public addresses only) when unset", () => {
    expect(readConfig(env()).network).toEqual({ allowNetworks: [], denyNetworks: [] });
  });

  it("reads the general variables and still the older webhook ones, into one policy", () => {
    const config = readConfig(
      env({
        TASKPORT_OUTBOUND_ALLOW_NETWORKS: "127.0.0.0/8, 10.1.0.0/16",
        TASKPORT_WEBHOOK_ALLOW_NETWORKS: "::1",
        TASKPORT_WEBHOOK_DENY_NETWORKS: "203.0.113.0/24",
      }),
    );
    expect(config.network).toEqual({
      allowNetworks: ["127.0.0.0/8", "10.1.0.0/16", "::1"],
      denyNetworks: ["203.0.113.0/24"],
    });
  });

  it("refuses an entry that is not an address or a CIDR, naming the variable", () => {
    expect(() => readConfig(env({ TASKPORT_OUTBOUND_DENY_NETWORKS: "10.0.0.0/8,nope" }))).toThrow(
      'TASKPORT_OUTBOUND_DENY_NETWORKS / TASKPORT_WEBHOOK_DENY_NETWORKS: "nope" is not an address or a CIDR',
    );
  });
});

describe("the number of server processes", () => {
  it("is one unless TASKPORT_WORKERS says otherwise, and more only on PostgreSQL", () => {
    expect(readConfig(env()).workers).toBe(1);
    expect(
      readConfig(env({ TASKPORT_WORKERS: "2", DATABASE_URL: "postgres://127.0.0.1/test" })).workers,
    ).toBe(2);
    expect(() => readConfig(env({ TASKPORT_WORKERS: "2" }))).toThrow(
      "TASKPORT_WORKERS above 1 needs DATABASE_URL: the embedded PGlite belongs to one process.",
    );
    expect(() => readConfig(env({ TASKPORT_WORKERS: "0" }))).toThrow(
      'TASKPORT_WORKERS must be a positive integer, got "0".',
    );
  });
});
