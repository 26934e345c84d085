import { describe, expect, it } from "vitest";
import { safeNextPath } from "../../src/lib/safe-next";

describe("safeNextPath", () => {
  it("keeps a path on this site, with its query and fragment", () => {
    expect(safeNextPath("/projects/3?page=2#tasks")).toBe("/projects/3?page=2#tasks");
    expect(safeNextPath("/tokens")).toBe("/tokens");
  });

  it.each([
    ["a tab that browsers drop (//evil.example)", "/\t/evil.example/phish"],
    ["a newline", "/\n/evil.example"],
    ["a carriage return", "/\r\n/evil.example"],
    ["a NUL", "/\u0000/evil.example"],
    ["a C1 control", "/\u0085/evil.example"],
    ["a protocol-relative URL", "//evil.example/phish"],
    ["a backslash", "/\\evil.example"],
    ["a backslash further in", "/a\\..\\\\evil.example"],
    ["an absolute URL", "https://evil.example/"],
    ["a scheme", "javascript:alert(1)"],
    ["a relative path", "evil.example"],
    ["an empty string", ""],
  ])("refuses %s", (_what, next) => {
    expect(safeNextPath(next)).toBe("/projects");
  });

  it("refuses what is not a string", () => {
    expect(safeNextPath(undefined)).toBe("/projects");
    expect(safeNextPath(["/a", "/b"])).toBe("/projects");
  });

  it("answers a path whose origin is this site's, as the browser would resolve it", () => {
    expect(safeNextPath("/a/../projects")).toBe("/projects");
    expect(safeNextPath("/%2F%2Fevil.example")).toBe("/%2F%2Fevil.example");
  });
});
