import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { ExecutorConfig, FileConfig } from '../config/file-config';
import { isValidActionClassGlob } from '../lib/action-class-glob';
import { Problem } from '../lib/errors';
import { closeSchema } from './close-schema';
import { compensationProblem } from './compensation';
import { contractFor } from './lookup';

export { contractFor } from './lookup';

export type ContractViolation = { path: string; message: string };

// One Ajv for the process; each contract schema is compiled once and cached by its config object.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv);
const compiled = new WeakMap<object, ValidateFunction>();

export class ContractConfigError extends Error {}

function compile(schema: Record<string, unknown>): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    // `compensate` names the rollback (src/rollback/compensation.ts); it is ours, not a JSON Schema keyword.
    const { compensate: _compensate, ...jsonSchema } = schema;
    fn = ajv.compile(closeSchema(jsonSchema) as Record<string, unknown>);
    compiled.set(schema, fn);
  }
  return fn;
}

/** Compiles every contract at start-up so a broken schema stops the boot instead of the first request. */
export function compileContracts(config: Pick<FileConfig, 'executors'>): void {
  const problems: string[] = [];
  for (const ex of config.executors) {
    for (const [pattern, schema] of Object.entries(ex.contracts)) {
      if (!isValidActionClassGlob(pattern)) problems.push(`executors.${ex.name}.contracts: "${pattern}" is not an action-class glob`);
      try {
        compile(schema);
      } catch (e) {
        problems.push(`executors.${ex.name}.contracts["${pattern}"]: ${(e as Error).message}`);
      }
      const compensation = compensationProblem(schema.compensate);
      if (compensation) problems.push(`executors.${ex.name}.contracts["${pattern}"].compensate: ${compensation}`);
    }
  }
  if (problems.length) throw new ContractConfigError(`invalid tool contracts:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/**
 * Checks params against the executor's contract; returns every violation. An executor that declares
 * no contracts at all is not checked; one that declares some refuses classes none of them covers.
 */
export function contractViolations(executor: ExecutorConfig, actionClass: string, params: Record<string, unknown>): ContractViolation[] {
  if (Object.keys(executor.contracts).length === 0) return [];
  const schema = contractFor(executor, actionClass);
  if (!schema) return [{ path: 'action_class', message: `executor ${executor.name} has no contract for ${actionClass}` }];
  const validate = compile(schema);
  if (validate(params)) return [];
  return (validate.errors ?? []).map(toViolation);
}

/** Throws `contract-violation` (422) listing every violation; used by the intake before policy runs. */
export function enforceContract(executor: ExecutorConfig, actionClass: string, params: Record<string, unknown>): void {
  const errors = contractViolations(executor, actionClass, params);
  if (errors.length === 0) return;
  throw new Problem('contract-violation', errors.map((e) => `${e.path}: ${e.message}`).join('; '), {
    extensions: { errors, executor: executor.name, action_class: actionClass },
  });
}

function toViolation(e: ErrorObject): ContractViolation {
  const base = ['params', ...e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))];
  if (e.keyword === 'additionalProperties') {
    return { path: [...base, String(e.params.additionalProperty)].join('.'), message: 'is not a field of the contract (unknown fields are refused)' };
  }
  if (e.keyword === 'required') return { path: [...base, String(e.params.missingProperty)].join('.'), message: 'is required' };
  if (e.keyword === 'unevaluatedProperties') {
    return { path: [...base, String(e.params.unevaluatedProperty)].join('.'), message: 'is not a field of the contract (unknown fields are refused)' };
  }
  return { path: base.join('.'), message: e.message ?? e.keyword };
}
