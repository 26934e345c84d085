/**
 * The `taskport` command: import files, create tasks, projects, tokens and users on a
 * Taskport server through its typed tRPC API (@taskport/client). Results print as JSON on
 * stdout for scripts; progress and errors go to stderr; any failure exits non-zero.
 */
import { readFile } from "node:fs/promises";
import { IMPORT_FORMATS, type ImportFormat } from "@taskport/api/import-formats";
import { createTaskportClient, type TaskportClient, TRPCClientError } from "@taskport/client";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { DEFAULT_CHUNK_TASKS, explainError, ImportFailed, importFile } from "./import-file";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer.");
  return n;
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`is not valid JSON (${(error as Error).message}).`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new InvalidArgumentError('must be a JSON object such as \'{"text": "..."}\'.');
  return parsed as Record<string, unknown>;
}

/** Thrown for a usage problem found after parsing (no token, ...). */
class UsageError extends Error {}

interface GlobalOptions {
  url: string;
  token?: string;
  timeout: number;
}

export function buildProgram(out: (line: string) => void, err: (line: string) => void): Command {
  const program = new Command("taskport")
    .description("Create labeling tasks on a Taskport server.")
    .addOption(
      new Option("--url <url>", "server URL").env("TASKPORT_URL").default("http://localhost:3000"),
    )
    .addOption(new Option("--token <token>", "API token").env("TASKPORT_TOKEN"))
    .addOption(
      new Option("--timeout <seconds>", "per-request timeout").argParser(positiveInt).default(120),
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });

  const client = (): TaskportClient => {
    const opts = program.opts<GlobalOptions>();
    if (!opts.token) {
      throw new UsageError(
        "No API token: pass --token or set TASKPORT_TOKEN (create one with `taskport tokens create` or in the web app).",
      );
    }
    return createTaskportClient({
      url: opts.url,
      token: opts.token,
      timeoutMs: opts.timeout * 1000,
    });
  };
  const print = (value: unknown) => out(JSON.stringify(value, null, 2));

  program
    .command("import")
    .description("import tasks from a .json, .jsonl, .csv, .tsv or .txt file")
    .argument("<file>", "the file to import")
    .requiredOption("-p, --project <id>", "project id", positiveInt)
    .addOption(
      new Option("--format <format>", "file format (default: from the file name)").choices(
        IMPORT_FORMATS,
      ),
    )
    .option("--chunk-size <n>", "tasks per request", positiveInt, DEFAULT_CHUNK_TASKS)
    .option("--dry-run", "validate only, create nothing")
    .option("--no-progress", "no progress bar")
    .action(
      async (
        file: string,
        opts: {
          project: number;
          format?: ImportFormat;
          chunkSize: number;
          dryRun?: boolean;
          progress: boolean;
        },
      ) => {
        const summary = await importFile(client(), file, {
          project: opts.project,
          format: opts.format,
          chunkSize: opts.chunkSize,
          dryRun: opts.dryRun,
          progress: opts.progress && Boolean(process.stderr.isTTY),
        });
        const rate = Math.round(summary.tasks / Math.max(summary.seconds, 0.001));
        err(
          `${opts.dryRun ? "Validated" : "Imported"} ${summary.tasks.toLocaleString("en-US")} tasks ` +
            `(${summary.annotations} annotations, ${summary.predictions} predictions) in ` +
            `${summary.chunks} requests, ${summary.seconds.toFixed(1)} s, ${rate.toLocaleString("en-US")} tasks/s.`,
        );
        print({ ...summary, dry_run: Boolean(opts.dryRun) });
      },
    );

  const tasks = program.command("tasks").description("tasks");
  tasks
    .command("create")
    .description("create one task")
    .requiredOption("-p, --project <id>", "project id", positiveInt)
    .requiredOption("-d, --data <json>", "the task's data, a JSON object", jsonObject)
    .option("--meta <json>", "the task's meta, a JSON object", jsonObject)
    .option("--idempotency-key <key>", "a retry with the same key creates nothing more")
    .action(
      async (opts: {
        project: number;
        data: Record<string, unknown>;
        meta?: Record<string, unknown>;
        idempotencyKey?: string;
      }) => {
        print(
          await client().task.create.mutate({
            project: opts.project,
            data: opts.data,
            meta: opts.meta,
            idempotencyKey: opts.idempotencyKey,
          }),
        );
      },
    );

  const projects = program.command("projects").description("projects");
  projects
    .command("list")
    .description("list the projects of your organization")
    .option("--page <n>", "page", positiveInt, 1)
    .option("--page-size <n>", "projects per page (at most 100)", positiveInt, 30)
    .action(async (opts: { page: number; pageSize: number }) => {
      print(await client().project.list.query({ page: opts.page, page_size: opts.pageSize }));
    });
  projects
    .command("create")
    .description("create a project")
    .requiredOption("-t, --title <title>", "title")
    .option("--description <text>", "description")
    .option("--label-config <xml>", "label config XML")
    .option("--label-config-file <path>", "read the label config from a file")
    .option("--maximum-annotations <n>", "annotations per task", positiveInt)
    .action(
      async (opts: {
        title: string;
        description?: string;
        labelConfig?: string;
        labelConfigFile?: string;
        maximumAnnotations?: number;
      }) => {
        const labelConfig = opts.labelConfigFile
          ? await readFile(opts.labelConfigFile, "utf8")
          : opts.labelConfig;
        print(
          await client().project.create.mutate({
            title: opts.title,
            description: opts.description,
            label_config: labelConfig,
            maximum_annotations: opts.maximumAnnotations,
          }),
        );
      },
    );

  program
    .command("tokens")
    .description("API tokens")
    .command("create")
    .description("create an API token for yourself (shown once)")
    .option("--name <name>", "a name to recognise it by", "cli")
    .addOption(
      new Option("--kind <kind>", "key (sent as `Token <key>`) or pat (a personal access token)")
        .choices(["key", "pat"])
        .default("key"),
    )
    .action(async (opts: { name: string; kind: "key" | "pat" }) => {
      print(await client().token.create.mutate({ name: opts.name, kind: opts.kind }));
    });

  program
    .command("users")
    .description("users")
    .command("create")
    .description("create a user in your organization")
    .requiredOption("--email <email>", "email")
    .addOption(
      new Option("--password <password>", "password (better: set TASKPORT_NEW_USER_PASSWORD)")
        .env("TASKPORT_NEW_USER_PASSWORD")
        .makeOptionMandatory(),
    )
    .action(async (opts: { email: string; password: string }) => {
      print(await client().user.create.mutate({ email: opts.email, password: opts.password }));
    });

  return program;
}

/** Runs the command line; returns the exit code. */
export async function main(
  argv: string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const program = buildProgram(out, err);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof ImportFailed) {
      for (const message of error.messages) err(`error: ${message}`);
      const { tasks, chunks } = error.summary;
      if (tasks > 0) {
        err(
          `${tasks.toLocaleString("en-US")} tasks in ${chunks} requests were imported before the error; re-running the same command after fixing the file creates none of them twice.`,
        );
      }
      return 1;
    }
    if (error instanceof UsageError) {
      err(`error: ${error.message}`);
      return 2;
    }
    if (error instanceof TRPCClientError) {
      for (const message of explainError(error, 0)) err(`error: ${message}`);
      return 1;
    }
    err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
