/**
 * A label config as Label Studio describes it to its clients (`parsed_label_config`), and the
 * facts projects report from it: whether it has control tags, whether it suits bulk annotation,
 * the default control weights, and whether a new config changes what annotations mean.
 * Pure, so the web app shows the same facts the server answers.
 */
import { type OrderedNode, parseLabelConfigXml } from "./label-config";

export interface ParsedInput {
  type: string;
  valueType: string | null;
  value?: string;
  valueList?: string;
}

/** One control tag (a tag with `name` and `toName`), keyed by its name in the parsed config. */
export interface ParsedControl {
  type: string;
  to_name: string[];
  regex?: Record<string, string>;
  conditionals?: { type: "tag" | "label" | "choice"; name: string };
  dynamic_labels?: true;
  inputs: ParsedInput[];
  labels: string[];
  labels_attrs: Record<string, Record<string, string>>;
}

export type ParsedLabelConfig = Record<string, ParsedControl>;

interface Node {
  tag: string;
  attributes: Record<string, string>;
  parent: Node | null;
}

/** Elements in document order, each knowing its parent. */
function walk(nodes: OrderedNode[], parent: Node | null, out: Node[]): Node[] {
  for (const node of nodes) {
    for (const key of Object.keys(node)) {
      if (key === ":@" || key === "#text" || key.startsWith("?")) continue;
      const element: Node = { tag: key, attributes: node[":@"] ?? {}, parent };
      out.push(element);
      const children = node[key];
      if (Array.isArray(children)) walk(children, element, out);
    }
  }
  return out;
}

/** The elements of a well-formed config, or null when it is not well-formed XML. */
function elementsOf(xml: string): Node[] | null {
  if (!xml.trim()) return null;
  const parsed = parseLabelConfigXml(xml);
  return parsed.ok ? walk(parsed.nodes, null, []) : null;
}

const LABEL_TAGS = new Set(["Label", "Choice", "Relation"]);
const NOT_CONTROL_TAGS = new Set(["Filter"]);

const isControl = (node: Node) =>
  Boolean(node.attributes.name && node.attributes.toName) && !NOT_CONTROL_TAGS.has(node.tag);
const isObject = (node: Node) =>
  Boolean(node.attributes.name && (node.attributes.value || node.attributes.valueList));

/**
 * Label Studio's `parsed_label_config`: every control tag with its targets, the object tags
 * they read and their labels (a label's `alias` if it has one, else its `value`). An empty or
 * malformed config parses to `{}`.
 */
export function parseLabelConfig(xml: string): ParsedLabelConfig {
  const elements = elementsOf(xml);
  if (!elements) return {};
  const outputs: ParsedLabelConfig = {};
  const inputs: Record<string, ParsedInput> = {};
  const labels = new Map<string, Record<string, Record<string, string>>>();
  const indexVariables: string[] = [];
  for (const node of elements) {
    const { attributes } = node;
    if (attributes.indexFlag) indexVariables.push(attributes.indexFlag);
    if (isControl(node)) {
      const control: ParsedControl = {
        type: node.tag,
        to_name: (attributes.toName ?? "").split(","),
        inputs: [],
        labels: [],
        labels_attrs: {},
      };
      for (const variable of indexVariables) {
        if (control.to_name.some((name) => name.includes(variable))) {
          control.regex = { ...control.regex, [variable]: ".*" };
        }
      }
      if (attributes.perRegion === "true") {
        if (attributes.whenTagName) {
          control.conditionals = { type: "tag", name: attributes.whenTagName };
        } else if (attributes.whenLabelValue) {
          control.conditionals = { type: "label", name: attributes.whenLabelValue };
        } else if (attributes.whenChoiceValue) {
          control.conditionals = { type: "choice", name: attributes.whenChoiceValue };
        }
      }
      if (/^\$[A-Za-z_]+$/.test(attributes.value ?? "") || attributes.apiUrl) {
        control.dynamic_labels = true;
      }
      outputs[attributes.name as string] = control;
    } else if (isObject(node)) {
      const input: ParsedInput = { type: node.tag, valueType: attributes.valueType ?? null };
      if (attributes.value !== undefined) input.value = attributes.value.replace(/^\$+/, "");
      else if (attributes.valueList !== undefined) {
        input.valueList = attributes.valueList.replace(/^\$+/, "");
      }
      inputs[attributes.name as string] = input;
    }
    if (!LABEL_TAGS.has(node.tag)) continue;
    let parent = node.parent;
    while (parent && !(parent.attributes.name && parent.attributes.name in outputs)) {
      parent = parent.parent;
    }
    const value = attributes.alias || attributes.value || attributes.valueList;
    if (!parent || !value) continue;
    const owner = parent.attributes.name as string;
    const byValue = labels.get(owner) ?? {};
    byValue[value] = { ...attributes };
    labels.set(owner, byValue);
  }
  for (const [name, control] of Object.entries(outputs)) {
    // Key order as Label Studio writes it: inputs, labels and labels_attrs come last.
    const { inputs: _inputs, labels: _labels, labels_attrs: _attrs, ...head } = control;
    const byValue = labels.get(name) ?? {};
    outputs[name] = {
      ...head,
      inputs: control.to_name.flatMap((target) => (inputs[target] ? [inputs[target]] : [])),
      labels: Object.keys(byValue),
      labels_attrs: byValue,
    };
  }
  return outputs;
}

/** Whether the config has at least one control tag, i.e. something to label with. */
export function configHasControlTags(xml: string): boolean {
  return Object.keys(parseLabelConfig(xml)).length > 0;
}

// Control tags whose results are regions or spans: such configs cannot be applied to many
// tasks at once.
const REGION_TAGS = new Set(
  [
    "Labels",
    "Brush",
    "BrushLabels",
    "Ellipse",
    "EllipseLabels",
    "KeyPoint",
    "KeyPointLabels",
    "Polygon",
    "PolygonLabels",
    "Rectangle",
    "RectangleLabels",
    "HyperTextLabels",
    "ParagraphLabels",
    "TimeSeriesLabels",
    "VideoRectangle",
  ].map((tag) => tag.toLowerCase()),
);
const PER_TASK_TAGS = new Set(["choices", "taxonomy", "datetime", "number", "rating", "textarea"]);

/**
 * Whether one labeling can be applied to many tasks at once (Label Studio's
 * `config_suitable_for_bulk_annotation`): no region tags, no per-region or per-item controls,
 * no dynamic Choices or Taxonomy (`value`), no Taxonomy that labels or loads from `apiUrl`.
 */
export function configSuitableForBulkAnnotation(xml: string): boolean {
  const elements = elementsOf(xml);
  if (!elements) return true;
  const controls = elements.filter(isControl);
  for (const { tag } of controls) {
    if (REGION_TAGS.has(tag.toLowerCase())) return false;
  }
  for (const { tag, attributes } of controls) {
    const kind = tag.toLowerCase();
    if (!PER_TASK_TAGS.has(kind)) continue;
    const flag = (name: string) => (attributes[name] ?? "false").toLowerCase() === "true";
    if (flag("perRegion") || flag("perItem")) return false;
    if ((kind === "choices" || kind === "taxonomy") && "value" in attributes) return false;
    if (kind === "taxonomy" && (flag("labeling") || attributes.apiUrl !== undefined)) return false;
  }
  return true;
}

export interface ControlWeight {
  overall: number;
  type: string;
  labels: Record<string, number>;
}

/**
 * Control weights for every control tag of a config (Filter aside), keeping the weights already
 * set for the controls and labels that remain; anything unset weighs 1.
 */
export function controlWeightsFor(
  xml: string,
  previous: Record<string, unknown> | null | undefined,
): Record<string, ControlWeight> {
  const weights: Record<string, ControlWeight> = {};
  for (const [name, control] of Object.entries(parseLabelConfig(xml))) {
    const before = (previous?.[name] ?? {}) as {
      overall?: unknown;
      labels?: Record<string, unknown>;
    };
    const number = (value: unknown) => (typeof value === "number" ? value : 1);
    weights[name] = {
      overall: number(before.overall),
      type: control.type,
      labels: Object.fromEntries(
        control.labels.map((label) => [label, number(before.labels?.[label])]),
      ),
    };
  }
  return weights;
}

/**
 * Whether a new config changes what existing annotations mean (Label Studio's
 * `config_essential_data_has_changed`): a control tag added or retyped, its inputs changed, or
 * one of its labels removed.
 */
export function configEssentialDataChanged(next: string, previous: string): boolean {
  const before = parseLabelConfig(previous);
  for (const [name, control] of Object.entries(parseLabelConfig(next))) {
    const old = before[name];
    if (!old || old.type !== control.type) return true;
    if (JSON.stringify(old.inputs) !== JSON.stringify(control.inputs)) return true;
    if (!old.labels.every((label) => control.labels.includes(label))) return true;
  }
  return false;
}
