/**
 * One region of an annotation's or prediction's result in words: "from_name → to_name", its
 * type, and its value (the part named like the type first, e.g. the chosen choices or labels,
 * then the rest such as offsets).
 */
export interface RegionText {
  names: string;
  type: string;
  value: string;
}

function scalar(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(scalar).join(", ");
  return JSON.stringify(value) ?? "null";
}

export function regionText(region: Record<string, unknown>): RegionText {
  const type = typeof region.type === "string" ? region.type : "";
  const from = typeof region.from_name === "string" ? region.from_name : "?";
  const to = typeof region.to_name === "string" ? region.to_name : "?";
  const value = region.value;
  let text: string;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    text = scalar(value);
  } else {
    const entries = Object.entries(value as Record<string, unknown>);
    const main = entries.find(([key]) => key === type);
    const rest = entries.filter(([key]) => key !== type);
    if (main) {
      text = rest.length
        ? `${scalar(main[1])} (${rest.map(([k, v]) => `${k} ${scalar(v)}`).join(", ")})`
        : scalar(main[1]);
    } else if (rest.length === 1 && rest[0]) {
      text = scalar(rest[0][1]);
    } else {
      text = rest.map(([k, v]) => `${k} ${scalar(v)}`).join(", ");
    }
  }
  return { names: `${from} → ${to}`, type, value: text };
}
