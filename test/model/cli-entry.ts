// Runs the CLI from source (through tsx) for tests that spawn it as a child process.
import { main } from "../../src/cli/main.js";

process.exitCode = await main(process.argv);
