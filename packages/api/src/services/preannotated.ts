/**
 * Label Studio's `preannotated_from_fields` import option: the named fields of each task's data
 * become its predictions, one per field, and leave the data (the SDKs document it as turning
 * `{"column1": ..., "column2": ...}` into `{"data": {"column1": ...}, "predictions": [...]}`).
 *
 * A field's value is read as Label Studio reads a prediction's `result`: a list is the result
 * itself; an object is the `value` of one region of the first control tag whose value key it
 * has; a string or a number is the one value of a single-valued control (Choices or TextArea for
 * a string, Rating or Number for a number). The control named like the field is preferred, as
 * Label Studio's newer import does, then the config's controls in order. The regions are then
 * checked by the same result rule as any imported prediction.
 */
import type { ResultRules } from "@taskport/schema";
import { isJsonObject } from "@taskport/schema";

/** The `model_version` of the predictions made from fields, as Label Studio names it. */
export const PREANNOTATED_MODEL_VERSION = "preannotated";

export type Preannotated = { ok: true; item: unknown } | { ok: false; message: string };

interface Control {
  name: string;
  type: string;
  toName: string;
}

/** The key of a control's value: its type, but `text` for a TextArea. */
const valueKey = (type: string) => (type === "textarea" ? "text" : type);

/** One control's region for a scalar, or null when the control does not take it. */
function scalarValue(control: Control, value: string | number): Record<string, unknown> | null {
  if (typeof value === "string") {
    if (control.type === "choices") return { choices: [value] };
    if (control.type === "textarea") return { text: [value] };
    return null;
  }
  if (control.type === "number") return { number: value };
  if (control.type === "rating" && Number.isInteger(value)) return { rating: value };
  return null;
}

function resultOf(field: string, value: unknown, controls: Control[]): unknown[] | string {
  if (Array.isArray(value)) return value;
  const named = controls.filter((c) => c.name === field);
  const ordered = [...named, ...controls.filter((c) => c.name !== field)];
  for (const control of ordered) {
    let regionValue: Record<string, unknown> | null = null;
    if (isJsonObject(value)) {
      if (valueKey(control.type) in value) regionValue = value;
    } else if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) {
      regionValue = scalarValue(control, value);
    }
    if (regionValue) {
      return [
        {
          from_name: control.name,
          to_name: control.toName,
          type: control.type,
          value: regionValue,
        },
      ];
    }
  }
  return `Preannotated field '${field}': no control tag of the label config takes ${JSON.stringify(value)}`;
}

/**
 * What each imported item becomes with the fields taken out of its data as predictions (added
 * to the item's own); an item that is not an object is left to the item rule to refuse.
 */
export function preannotator(
  rules: ResultRules,
  fields: readonly string[],
): (item: unknown) => Preannotated {
  const controls: Control[] = Object.entries(rules.controls).map(([name, control]) => ({
    name,
    type: control.type.toLowerCase(),
    toName: control.to_name[0] ?? "",
  }));
  return (item) => {
    if (!isJsonObject(item)) return { ok: true, item };
    const nested = "data" in item;
    const data = nested ? item.data : item;
    if (!isJsonObject(data)) return { ok: true, item };
    const rest: Record<string, unknown> = { ...data };
    const predictions: unknown[] = [];
    for (const field of fields) {
      if (!Object.hasOwn(rest, field))
        return { ok: false, message: `Preannotated field '${field}' not found in task data` };
      const value = rest[field];
      delete rest[field];
      // An empty cell (CSV) or a null predicts nothing for this task.
      if (value === null || value === "") continue;
      const result = resultOf(field, value, controls);
      if (typeof result === "string") return { ok: false, message: result };
      predictions.push({ result, score: 1, model_version: PREANNOTATED_MODEL_VERSION });
    }
    if (!nested) return { ok: true, item: { data: rest, predictions } };
    const own = item.predictions ?? [];
    return {
      ok: true,
      item: {
        ...item,
        data: rest,
        // Not a list: kept as sent, for the item rule to refuse.
        predictions: Array.isArray(own) ? [...own, ...predictions] : own,
      },
    };
  };
}
