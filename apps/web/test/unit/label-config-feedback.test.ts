import { describe, expect, it } from "vitest";
import { labelConfigFeedback } from "../../src/lib/label-config-feedback";

describe("labelConfigFeedback", () => {
  it("names the one key a Text tag needs", () => {
    const feedback = labelConfigFeedback('<View><Text name="text" value="$text"/></View>');
    expect(feedback).toEqual({
      ok: true,
      keys: [{ key: "text", readBy: ['<Text name="text">'] }],
      summary: 'Valid. Every task needs the data key "text".',
    });
  });

  it("lists several keys once each, with every tag that reads them", () => {
    const feedback = labelConfigFeedback(
      `<View>
        <Image name="img" value="$image"/>
        <Header name="h" value="$title"/>
        <Text name="caption" value="$title"/>
        <Choices name="c" toName="img"><Choice value="a"/></Choices>
      </View>`,
    );
    expect(feedback.ok).toBe(true);
    if (!feedback.ok) return;
    expect(feedback.keys).toEqual([
      { key: "image", readBy: ['<Image name="img">'] },
      { key: "title", readBy: ['<Header name="h">', '<Text name="caption">'] },
    ]);
    expect(feedback.summary).toBe('Valid. Every task needs the data keys "image" and "title".');
  });

  it("says when a valid config needs no key", () => {
    expect(labelConfigFeedback("<View></View>")).toMatchObject({
      ok: true,
      keys: [],
      summary: "Valid. Tasks need no particular data key.",
    });
  });

  it.each([
    ['<View><Text name="text" value="$text"/>', /not well-formed XML/],
    ['<Text name="text" value="$text"/>', /must have <View> as its root/],
    ["", /empty/],
    [
      '<View><Choices name="c" toName="missing"><Choice value="a"/></Choices></View>',
      /toName="missing"/,
    ],
  ])("reports %j as invalid with the server's message", (xml, message) => {
    const feedback = labelConfigFeedback(xml);
    expect(feedback.ok).toBe(false);
    if (feedback.ok) return;
    expect(feedback.error).toMatch(message);
    expect(feedback.summary).toBe(`Invalid: ${feedback.error}`);
  });
});
