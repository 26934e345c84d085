/**
 * What the label config editor says as you type: whether the XML is a valid config (the same
 * `checkLabelConfig` the server runs) and which data keys every task of the project will need.
 */
import { checkLabelConfig, labelConfigVariables } from "@taskport/schema";

export interface RequiredKey {
  key: string;
  /** The object tags that read it, e.g. `<Text name="text">`. */
  readBy: string[];
}

export type LabelConfigFeedback =
  | { ok: true; keys: RequiredKey[]; summary: string }
  | { ok: false; error: string; summary: string };

function quoteList(keys: string[]): string {
  const quoted = keys.map((k) => `"${k}"`);
  if (quoted.length <= 1) return quoted.join("");
  return `${quoted.slice(0, -1).join(", ")} and ${quoted.at(-1)}`;
}

export function labelConfigFeedback(xml: string): LabelConfigFeedback {
  const check = checkLabelConfig(xml);
  if (!check.ok) return { ok: false, error: check.error, summary: `Invalid: ${check.error}` };
  const variables = labelConfigVariables(xml);
  const keys = variables.map((key) => ({
    key,
    readBy: check.objectTags
      .filter((tag) => tag.variable === key)
      .map((tag) => `<${tag.tag} name="${tag.name}">`),
  }));
  const summary =
    variables.length === 0
      ? "Valid. Tasks need no particular data key."
      : `Valid. Every task needs the data ${variables.length === 1 ? "key" : "keys"} ${quoteList(variables)}.`;
  return { ok: true, keys, summary };
}
