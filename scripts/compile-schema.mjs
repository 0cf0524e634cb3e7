// Build step: compiles schemas/corral.schema.json into a standalone ajv validator module beside the
// compiled loader (dist/src/project/schema-validator.js). Compiling the schema at every CLI start
// took ~220 ms, most of a no-op `up`; loading the generated code takes a few.
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(path.join(root, 'schemas/corral.schema.json'), 'utf8'));
// The options must match what src/project/validate.ts expects of the errors (all of them, with their schemas).
const ajv = new Ajv2020.default({ allErrors: true, strict: false, verbose: true, code: { source: true, esm: true } });
const code = standaloneCode.default(ajv, ajv.compile(schema));
// ajv's ESM output still calls require() for its runtime helpers.
const module = `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${code}`;
const target = path.join(root, 'dist/src/project/schema-validator.js');
mkdirSync(path.dirname(target), { recursive: true });
writeFileSync(target, module);
