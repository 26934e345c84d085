import type { Metadata } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import { getRuntime } from "~/server/runtime";
import styles from "./reference.module.css";

export const metadata: Metadata = { title: "API reference" };

/**
 * The REST API's reference, rendered on the server from the OpenAPI document that
 * /api/openapi.json serves (built from the routes the server serves), so it cannot drift from
 * the code. No client code and nothing loaded from elsewhere.
 */

type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  description?: string;
};

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema: Schema;
}

interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { description?: string; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
}

/** The parts of the OpenAPI document this page reads. */
interface Document {
  info: { version: string };
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const SAFE_INTEGER = 9007199254740991;

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf("/") + 1);
}

function typeLabel(schema: Schema): string {
  if (schema.$ref) return refName(schema.$ref);
  if (schema.anyOf) return schema.anyOf.map(typeLabel).join(" | ");
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.type === "array") return `${schema.items ? typeLabel(schema.items) : "any"}[]`;
  if (Array.isArray(schema.type)) return schema.type.join(" | ");
  if (schema.type === "string" && schema.format) return `string (${schema.format})`;
  return schema.type ?? "any JSON";
}

function constraints(schema: Schema): string {
  const parts: string[] = [];
  if (schema.minimum !== undefined && schema.minimum > -SAFE_INTEGER)
    parts.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined && schema.maximum < SAFE_INTEGER)
    parts.push(`≤ ${schema.maximum}`);
  if (schema.minLength) parts.push(`at least ${schema.minLength} characters`);
  if (schema.maxLength) parts.push(`at most ${schema.maxLength} characters`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(", ");
}

function Fields({ schema }: { schema: Schema }) {
  const properties = Object.entries(schema.properties ?? {});
  if (properties.length === 0) return <p className="muted">{typeLabel(schema)}</p>;
  const required = new Set(schema.required ?? []);
  return (
    <table className={styles.table}>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Type</th>
          <th scope="col">Notes</th>
        </tr>
      </thead>
      <tbody>
        {properties.map(([name, property]) => (
          <tr key={name}>
            <td>
              <code>{name}</code>
            </td>
            <td>{typeLabel(property)}</td>
            <td>
              {[required.has(name) ? "required" : "", constraints(property)]
                .filter(Boolean)
                .join("; ")}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="stack">
      <h4>{title}</h4>
      {children}
    </div>
  );
}

export default async function ApiReferencePage() {
  // The running server's document: rendered per request, never at build time.
  await connection();
  const document = getRuntime().openApiDocument() as unknown as Document;
  const schemas = document.components.schemas;
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      path,
      method: method.toUpperCase(),
      operation,
    })),
  );
  const tags = document.tags.map((tag) => tag.name);
  const bodySchema = (ref: Schema) => (ref.$ref ? schemas[refName(ref.$ref)] : ref) ?? ref;

  return (
    <div className="stack">
      <h1>API reference</h1>
      <p>
        Taskport speaks Label Studio&apos;s REST API (version {document.info.version}): scripts and
        SDKs written for Label Studio work unchanged. Every path also answers without its trailing
        slash. The machine-readable document is at{" "}
        <a href="/api/openapi.json">
          <code>/api/openapi.json</code>
        </a>{" "}
        (OpenAPI 3.1).
      </p>
      <section className="card stack" aria-labelledby="authentication">
        <h2 id="authentication">Authentication</h2>
        <ul>
          <li>
            <code>Authorization: Token &lt;key&gt;</code> or <code>X-Api-Key: &lt;key&gt;</code>{" "}
            with an API key from the <a href="/tokens">API tokens</a> page.
          </li>
          <li>
            A personal access token: exchange it at <code>POST /api/token/refresh/</code> with{" "}
            <code>{'{"refresh": "<token>"}'}</code>, then send{" "}
            <code>Authorization: Bearer &lt;access&gt;</code> (valid five minutes).
          </li>
        </ul>
        <p>
          Every error has the same body: <code>id</code>, <code>status_code</code>,{" "}
          <code>version</code>, <code>detail</code>, <code>exc_info</code> and, for a 400,{" "}
          <code>validation_errors</code> keyed by field (<code>non_field_errors</code> for the body
          as a whole).
        </p>
      </section>
      {tags.map((tag) => (
        <section key={tag} className="stack" aria-labelledby={`tag-${tag}`}>
          <h2 id={`tag-${tag}`}>{tag}</h2>
          {operations
            .filter(({ operation }) => operation.tags.includes(tag))
            .map(({ path, method, operation }) => (
              <article
                key={operation.operationId}
                id={operation.operationId}
                className="card stack"
              >
                <h3>
                  <code>
                    {method} {path}
                  </code>
                </h3>
                <p>
                  {operation.summary}
                  {operation.security?.length === 0 ? " (no credentials needed)" : ""}
                </p>
                {operation.parameters && (
                  <Section title="Parameters">
                    <table className={styles.table}>
                      <thead>
                        <tr>
                          <th scope="col">Name</th>
                          <th scope="col">In</th>
                          <th scope="col">Description</th>
                        </tr>
                      </thead>
                      <tbody>
                        {operation.parameters.map((parameter) => (
                          <tr key={parameter.name}>
                            <td>
                              <code>{parameter.name}</code>
                              {parameter.required ? " (required)" : ""}
                            </td>
                            <td>{parameter.in}</td>
                            <td>{parameter.description}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </Section>
                )}
                {operation.requestBody && (
                  <Section title="Body">
                    <p className="muted">
                      {Object.keys(operation.requestBody.content).join(", ")}
                      {operation.requestBody.description
                        ? `: ${operation.requestBody.description}`
                        : ""}
                    </p>
                    {(() => {
                      const media = Object.values(operation.requestBody.content)[0];
                      return media ? <Fields schema={bodySchema(media.schema)} /> : null;
                    })()}
                  </Section>
                )}
                <Section title="Responses">
                  <ul>
                    {Object.entries(operation.responses).map(([status, response]) => {
                      const schema = response.content?.["application/json"]?.schema;
                      return (
                        <li key={status}>
                          <strong>{status}</strong> {response.description}
                          {schema ? (
                            <>
                              {" "}
                              <code>{typeLabel(schema)}</code>
                            </>
                          ) : null}
                        </li>
                      );
                    })}
                  </ul>
                </Section>
              </article>
            ))}
        </section>
      ))}
      <section className="stack" aria-labelledby="schemas">
        <h2 id="schemas">Schemas</h2>
        {Object.entries(schemas).map(([name, schema]) => (
          <article key={name} id={`schema-${name}`} className="card stack">
            <h3>
              <code>{name}</code>
            </h3>
            <Fields schema={schema} />
          </article>
        ))}
      </section>
    </div>
  );
}
