// Runs the CLI from source (through tsx) for the CLI tests of training.
import { main } from "../../src/cli/main.js";

process.exitCode = await main(process.argv);
