// Fails when src/db/schema.ts and the committed migrations disagree: drizzle-kit would
// generate a new migration. Whatever it generated is removed again.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dirname, "..", "drizzle");
const journalPath = join(dir, "meta", "_journal.json");
const before = new Set(readdirSync(dir));
const beforeMeta = new Set(readdirSync(join(dir, "meta")));
const journal = readFileSync(journalPath, "utf8");

execFileSync("pnpm", ["exec", "drizzle-kit", "check"], { stdio: "inherit" });
execFileSync("pnpm", ["exec", "drizzle-kit", "generate", "--name", "pending_check"], {
  stdio: "pipe",
});

const added = readdirSync(dir).filter((f) => !before.has(f));
const addedMeta = readdirSync(join(dir, "meta")).filter((f) => !beforeMeta.has(f));
for (const f of added) rmSync(join(dir, f), { force: true });
for (const f of addedMeta) rmSync(join(dir, "meta", f), { force: true });
writeFileSync(journalPath, journal);

if (added.length > 0) {
  console.error(
    "The Drizzle schema has changes that no migration covers: run `pnpm db:generate --name <verb_noun>` and commit it.",
  );
  process.exit(1);
}
console.log("Migrations match the schema.");
