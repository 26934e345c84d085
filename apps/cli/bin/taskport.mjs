#!/usr/bin/env node
// The `taskport` command: the TypeScript source runs through tsx, as the web server does.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv);
