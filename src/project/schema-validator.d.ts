// The standalone validator that scripts/compile-schema.mjs generates from schemas/corral.schema.json
// at build time (into dist/src/project/schema-validator.js).
import type { ValidateFunction } from 'ajv';

declare const validate: ValidateFunction;
export default validate;
