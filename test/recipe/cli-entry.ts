// Runs the CLI from source (through tsx) for the recipe tests.
import { main } from "../../src/cli/main.js";

process.exitCode = await main(process.argv);
