// Validates an OpenAPI document (a JSON file) against the official OpenAPI schema of its version
// with @seriousme/openapi-schema-validator, then resolves every $ref. Prints "valid <version>" and
// exits 0, or prints the validator's errors and exits 1. Usage: node validate.mjs FILE.json
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs FILE.json");
  process.exit(2);
}
const doc = JSON.parse(readFileSync(file, "utf8"));
const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) {
  console.error(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
try {
  await validator.resolveRefs();
} catch (e) {
  console.error("unresolved $ref: " + e.message);
  process.exit(1);
}
console.log("valid " + validator.version);
