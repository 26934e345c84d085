/**
 * Label config parsing: which data keys a project's tasks must carry, and of which types.
 * Pure (no server imports) so the web app runs the same rules in the browser.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";

export const DEFAULT_LABEL_CONFIG = "<View></View>";

/** An element with both `name` and `value`; `variable` is the data path it reads, if any. */
export interface ObjectTag {
  tag: string;
  name: string;
  value: string;
  variable: string | null;
}

export type LabelConfigCheck =
  | { ok: true; objectTags: ObjectTag[]; variables: string[] }
  | { ok: false; error: string };

type JsonType = "string" | "number" | "boolean" | "array" | "object" | "null";

/**
 * JSON types each object tag accepts as its value, after Label Studio's own table. Tags not
 * listed here are not type-checked: a key that is present is enough.
 */
const TAG_VALUE_TYPES: Record<string, readonly JsonType[]> = {
  Text: ["string", "number", "array"],
  HyperText: ["string"],
  Header: ["string", "number"],
  Image: ["string", "array"],
  Audio: ["string"],
  AudioPlus: ["string"],
  Video: ["string"],
  Paragraphs: ["array", "string"],
  Table: ["object", "array", "string"],
  TimeSeries: ["object", "array", "string"],
  List: ["array"],
  Choices: ["string", "array"],
};

/**
 * The deepest nesting of tags a label config may have. Real configs nest a handful of levels;
 * the bound keeps a hostile config (60,000 nested tags) from costing the parser its stack.
 */
export const LABEL_CONFIG_MAX_DEPTH = 100;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  preserveOrder: true,
  allowBooleanAttributes: true,
  parseAttributeValue: false,
  parseTagValue: false,
  // The parser lets one level more through than this option says.
  maxNestedTags: LABEL_CONFIG_MAX_DEPTH - 1,
});

export type OrderedNode = { [tag: string]: OrderedNode[] } & { ":@"?: Record<string, string> };

/**
 * A label config's XML as ordered nodes, or why it cannot be read: not well-formed (the
 * validator walks without recursion), or nested deeper than LABEL_CONFIG_MAX_DEPTH. The one
 * parse every reading of a config goes through.
 */
export function parseLabelConfigXml(
  xml: string,
): { ok: true; nodes: OrderedNode[] } | { ok: false; error: string } {
  const valid = XMLValidator.validate(xml, { allowBooleanAttributes: true });
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    return {
      ok: false,
      error: `Label config is not well-formed XML: ${msg} (line ${line}, column ${col}).`,
    };
  }
  try {
    return { ok: true, nodes: parser.parse(xml) as OrderedNode[] };
  } catch (error) {
    // The parser stops at maxNestedTags with a plain Error; anything else is a defect.
    if (!(error instanceof Error && /nested tags/i.test(error.message))) throw error;
    return {
      ok: false,
      error: `Label config is nested deeper than ${LABEL_CONFIG_MAX_DEPTH} tags.`,
    };
  }
}

interface Element {
  tag: string;
  attributes: Record<string, string>;
}

function elementsOf(nodes: OrderedNode[], out: Element[] = []): Element[] {
  for (const node of nodes) {
    for (const key of Object.keys(node)) {
      if (key === ":@" || key === "#text" || key.startsWith("?")) continue;
      out.push({ tag: key, attributes: node[":@"] ?? {} });
      const children = node[key];
      if (Array.isArray(children)) elementsOf(children, out);
    }
  }
  return out;
}

function rootTag(nodes: OrderedNode[]): string | undefined {
  for (const node of nodes) {
    for (const key of Object.keys(node)) {
      if (key !== ":@" && key !== "#text" && !key.startsWith("?")) return key;
    }
  }
  return undefined;
}

/** `$text` reads `text`; a value that is not `$...` reads the first `$word` inside it. */
export function variableOfValue(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed.startsWith("$")) {
    const rest = trimmed.slice(1);
    return /^[A-Za-z_][\w.-]*$/.test(rest) ? rest : (firstVariable(trimmed) ?? null);
  }
  return firstVariable(trimmed) ?? null;
}

function firstVariable(text: string): string | undefined {
  return /\$([A-Za-z_][\w]*(?:\.[\w]+)*)/.exec(text)?.[1];
}

/** Parses and checks a label config: well-formed XML, a `<View>` root, unique names, known `toName`s. */
export function checkLabelConfig(xml: string): LabelConfigCheck {
  if (xml.trim() === "")
    return { ok: false, error: "Label config is empty: use at least <View></View>." };
  const parsed = parseLabelConfigXml(xml);
  if (!parsed.ok) return parsed;
  const { nodes } = parsed;
  const root = rootTag(nodes);
  if (root !== "View") {
    return {
      ok: false,
      error: `Label config must have <View> as its root element, found ${root ? `<${root}>` : "none"}.`,
    };
  }
  const elements = elementsOf(nodes);
  const names = new Set<string>();
  for (const { tag, attributes } of elements) {
    const name = attributes.name;
    if (name === undefined) continue;
    if (names.has(name))
      return {
        ok: false,
        error: `Label config has two tags named "${name}" (<${tag}>): names must be unique.`,
      };
    names.add(name);
  }
  for (const { tag, attributes } of elements) {
    const toName = attributes.toName;
    if (toName === undefined) continue;
    for (const target of toName.split(",").map((s) => s.trim())) {
      if (!names.has(target)) {
        return {
          ok: false,
          error: `<${tag}> has toName="${target}", but no tag is named "${target}".`,
        };
      }
    }
  }
  const objectTags: ObjectTag[] = [];
  for (const { tag, attributes } of elements) {
    const { name, value } = attributes;
    if (name === undefined || value === undefined) continue;
    objectTags.push({ tag, name, value, variable: variableOfValue(value) });
  }
  const variables = [...new Set(objectTags.flatMap((t) => (t.variable ? [t.variable] : [])))];
  return { ok: true, objectTags, variables };
}

/** The data keys (dotted for nested objects) a label config requires of every task. */
export function labelConfigVariables(xml: string): string[] {
  const check = checkLabelConfig(xml);
  if (!check.ok) throw new Error(check.error);
  return check.variables;
}

export function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
    case "bigint":
      return "number";
    case "boolean":
      return "boolean";
    default:
      return "object";
  }
}

function lookup(data: Record<string, unknown>, path: string): { found: boolean; value: unknown } {
  let current: unknown = data;
  for (const part of path.split(".")) {
    if (
      current === null ||
      typeof current !== "object" ||
      Array.isArray(current) ||
      !Object.hasOwn(current, part)
    ) {
      return { found: false, value: undefined };
    }
    current = (current as Record<string, unknown>)[part];
  }
  return { found: true, value: current };
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/**
 * The first problem of task data against a config's object tags, as Label Studio words it, or
 * null when the data fits. Extra keys are fine.
 */
export function taskDataError(
  objectTags: readonly ObjectTag[],
  data: Record<string, unknown>,
): { key: string; message: string } | null {
  for (const { tag, variable } of objectTags) {
    if (!variable) continue;
    const { found, value } = lookup(data, variable);
    if (!found) return { key: variable, message: `"${variable}" key is expected in task data` };
    const accepted = TAG_VALUE_TYPES[tag];
    const actual = jsonTypeOf(value);
    if (accepted && !accepted.includes(actual)) {
      return {
        key: variable,
        message: `data["${variable}"]=${preview(value)} is of type '${actual}', but the object tag ${tag} expects the following types: ${accepted.join(", ")}`,
      };
    }
  }
  return null;
}
