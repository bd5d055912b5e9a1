#!/usr/bin/env node
// Checks that the spec's Passenger schema (the POST /model input) says what the
// default model says: the same inputs, types, vocabularies and required fields.
// Usage: tabserve inspect --json | node api/check-model-schema.js
"use strict";
const fs = require("fs");
const path = require("path");
const yaml = require("js-yaml");

const spec = yaml.load(fs.readFileSync(path.join(__dirname, "openapi.yaml"), "utf8"));
const model = JSON.parse(fs.readFileSync(0, "utf8"));
const passenger = spec.components.schemas.Passenger;
const problems = [];
const names = model.inputs.map((i) => i.name);
const specNames = Object.keys(passenger.properties);
if (names.slice().sort().join() !== specNames.slice().sort().join())
  problems.push(`inputs differ: model ${names}, spec ${specNames}`);
// format 2: each input has a type (number, integer, string, boolean), "missing"
// ("required" or "allowed") and, when categorical, a vocabulary
for (const input of model.inputs) {
  const prop = passenger.properties[input.name];
  if (!prop) continue;
  const types = [].concat(prop.type);
  const required = input.missing === "required";
  if (required !== (passenger.required || []).includes(input.name))
    problems.push(`${input.name}: required is ${required} in the model`);
  if (!required && !types.includes("null")) problems.push(`${input.name}: may be null (imputed), the spec says ${types}`);
  if (!types.includes(input.type)) problems.push(`${input.name}: ${input.type} in the model, ${types} in the spec`);
  if (input.vocabulary) {
    const vocab = (prop.enum || []).filter((v) => v !== null);
    if (JSON.stringify(vocab) !== JSON.stringify(input.vocabulary))
      problems.push(`${input.name}: vocabulary ${JSON.stringify(input.vocabulary)} in the model, ${JSON.stringify(vocab)} in the spec`);
  } else if (prop.enum) {
    problems.push(`${input.name}: the spec lists values, the model takes any ${input.type}`);
  }
}
if (problems.length) {
  console.error("api/openapi.yaml does not match the model:\n  " + problems.join("\n  "));
  process.exit(1);
}
console.log(`the spec's input schema matches the model (${names.length} inputs)`);
