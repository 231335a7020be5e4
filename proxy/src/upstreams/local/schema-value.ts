// The demo model's structured output: a deterministic value shaped like a JSON Schema (the subset
// OpenAI's structured outputs accept: object/array/string/number/integer/boolean/null, enum, const,
// anyOf/oneOf/allOf, $ref into $defs/definitions, type arrays, minItems). Strings say where they came
// from, so a reader of a demo answer never mistakes it for a model's.

type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;

function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const key of ref.slice(2).split("/")) {
    if (!node || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node && typeof node === "object" ? (node as Schema) : undefined;
}

function stringFor(schema: Schema, name: string, hint: string): string {
  const format = schema["format"];
  if (format === "date-time") return "2026-01-01T00:00:00Z";
  if (format === "date") return "2026-01-01";
  if (format === "email") return "demo@example.com";
  if (format === "uri" || format === "url") return "https://example.com/demo";
  if (format === "uuid") return "00000000-0000-4000-8000-000000000000";
  const text = hint ? `demo ${name}: ${hint}` : `demo ${name}`;
  const max = typeof schema["maxLength"] === "number" ? schema["maxLength"] : 200;
  const min = typeof schema["minLength"] === "number" ? schema["minLength"] : 0;
  return text.padEnd(min, ".").slice(0, Math.max(min, max));
}

function numberFor(schema: Schema, integer: boolean): number {
  const min = typeof schema["minimum"] === "number" ? schema["minimum"] : undefined;
  const exclusiveMin =
    typeof schema["exclusiveMinimum"] === "number" ? schema["exclusiveMinimum"] : undefined;
  const max = typeof schema["maximum"] === "number" ? schema["maximum"] : undefined;
  let value = min ?? (exclusiveMin !== undefined ? exclusiveMin + (integer ? 1 : 0.5) : 1);
  if (max !== undefined && value > max) value = max;
  return integer ? Math.ceil(value) : value;
}

/** A value that validates against `schema` (as far as the subset above goes). */
export function valueForSchema(
  schema: unknown,
  hint = "",
  root?: Schema,
  name = "value",
  depth = 0,
): unknown {
  if (!schema || typeof schema !== "object" || depth > MAX_DEPTH) return null;
  const s = schema as Schema;
  const top = root ?? s;
  if (typeof s["$ref"] === "string") {
    const target = resolveRef(top, s["$ref"]);
    return target ? valueForSchema(target, hint, top, name, depth + 1) : null;
  }
  if ("const" in s) return s["const"];
  if (Array.isArray(s["enum"]) && s["enum"].length > 0) return s["enum"][0];
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length > 0) {
      // Prefer a non-null branch: `anyOf: [{type: string}, {type: null}]` is how optionals look.
      const chosen = options.find((o) => (o as Schema)?.["type"] !== "null") ?? options[0];
      return valueForSchema(chosen, hint, top, name, depth + 1);
    }
  }
  if (Array.isArray(s["allOf"]) && s["allOf"].length > 0) {
    const merged: Schema = {};
    for (const part of s["allOf"] as Schema[]) {
      const resolved = typeof part?.["$ref"] === "string" ? resolveRef(top, part["$ref"] as string) : part;
      Object.assign(merged, resolved ?? {});
      if (resolved?.["properties"])
        merged["properties"] = {
          ...((merged["properties"] as Schema) ?? {}),
          ...(resolved["properties"] as Schema),
        };
    }
    return valueForSchema(merged, hint, top, name, depth + 1);
  }
  let type = s["type"];
  if (Array.isArray(type)) type = type.find((t) => t !== "null") ?? type[0];
  if (type === undefined && s["properties"]) type = "object";
  switch (type) {
    case "object": {
      const props = (s["properties"] ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(props))
        out[key] = valueForSchema(sub, hint, top, key, depth + 1);
      return out;
    }
    case "array": {
      const count = Math.max(1, typeof s["minItems"] === "number" ? s["minItems"] : 1);
      const items = s["items"] ?? {};
      return Array.from({ length: count }, () => valueForSchema(items, hint, top, name, depth + 1));
    }
    case "string":
      return stringFor(s, name, hint);
    case "integer":
      return numberFor(s, true);
    case "number":
      return numberFor(s, false);
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return stringFor(s, name, hint);
  }
}
