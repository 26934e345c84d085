import { describe, expect, it } from "vitest";
import { regionText } from "../../src/lib/result-text";

describe("regionText", () => {
  it("names the control and the object, then the value named like the type", () => {
    expect(
      regionText({
        from_name: "sentiment",
        to_name: "text",
        type: "choices",
        value: { choices: ["Positive", "Funny"] },
      }),
    ).toEqual({ names: "sentiment → text", type: "choices", value: "Positive, Funny" });
  });

  it("puts the other parts of a region's value after its labels", () => {
    expect(
      regionText({
        from_name: "label",
        to_name: "text",
        type: "labels",
        value: { start: 0, end: 5, text: "Great", labels: ["PER"] },
      }).value,
    ).toBe("PER (start 0, end 5, text Great)");
  });

  it("shows a text area's texts, whose key is not its type", () => {
    expect(
      regionText({
        from_name: "notes",
        to_name: "text",
        type: "textarea",
        value: { text: ["first", "second"] },
      }).value,
    ).toBe("first, second");
  });
});
