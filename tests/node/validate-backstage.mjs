// Validates Backstage catalog entities with Backstage's own validators (@backstage/catalog-model):
// the policies the catalog backend enforces on every entity it ingests, then the kind's own schema,
// after resolving placeholders ($text, $json, $yaml) as the catalog does when it reads a file.
//
//   node validate-backstage.mjs FILE...     (YAML, one or more documents per file, or JSON)
//   node validate-backstage.mjs < FILE      (the same on standard input)
//
// Prints one line per problem, `FILE#INDEX Kind:name: message`, and a closing count; exits 1 when any
// entity is invalid, 2 when a file cannot be read or parsed.
import { readFileSync } from "node:fs";
import {
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
} from "@backstage/catalog-model";
import { parseAllDocuments } from "yaml";

const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);
const kindValidators = [
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
];

function entitiesOf(text, source) {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    const data = JSON.parse(text);
    return Array.isArray(data) ? data : [data];
  }
  const documents = parseAllDocuments(text);
  const entities = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new Error(`${source}: YAML error: ${document.errors[0].message}`);
    }
    const value = document.toJS();
    if (value !== null && value !== undefined) entities.push(value);
  }
  return entities;
}

// The catalog backend resolves placeholders ({$text: URL}, {$json: ...}, {$yaml: ...}) when it reads a file,
// before it validates the entity: a placeholder stands here for the text it would be resolved to.
const PLACEHOLDERS = ["$text", "$json", "$yaml"];

function resolvePlaceholders(value) {
  if (Array.isArray(value)) return value.map(resolvePlaceholders);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && PLACEHOLDERS.includes(keys[0]) && typeof value[keys[0]] === "string") {
    return `(${keys[0]} ${value[keys[0]]}, resolved by the catalog)`;
  }
  return Object.fromEntries(keys.map((key) => [key, resolvePlaceholders(value[key])]));
}

async function problemOf(entity) {
  try {
    const checked = await policy.enforce(resolvePlaceholders(structuredClone(entity)));
    if (checked === undefined) return "rejected by the entity policies";
    for (const validator of kindValidators) {
      if (await validator.check(checked)) return null;
    }
    return `no Backstage validator knows the kind ${JSON.stringify(entity.kind)} of apiVersion ${JSON.stringify(entity.apiVersion)}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const sources = process.argv.slice(2);
const inputs = [];
try {
  if (sources.length === 0) inputs.push(["<stdin>", readFileSync(0, "utf8")]);
  for (const source of sources) inputs.push([source, readFileSync(source, "utf8")]);
} catch (error) {
  console.error(`validate-backstage: ${error.message}`);
  process.exit(2);
}

let checked = 0;
let invalid = 0;
for (const [source, text] of inputs) {
  let entities;
  try {
    entities = entitiesOf(text, source);
  } catch (error) {
    console.error(`validate-backstage: ${error.message}`);
    process.exit(2);
  }
  for (const [index, entity] of entities.entries()) {
    checked += 1;
    const problem = await problemOf(entity);
    if (problem !== null) {
      invalid += 1;
      const name = `${entity?.kind ?? "?"}:${entity?.metadata?.name ?? "?"}`;
      console.log(`${source}#${index} ${name}: ${problem}`);
    }
  }
}
console.log(`${checked} entities checked, ${invalid} invalid`);
process.exit(invalid > 0 ? 1 : 0);
