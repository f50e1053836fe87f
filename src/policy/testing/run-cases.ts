import type { PolicyBundle } from '../bundle.ts';
import type { Decision } from '../contract.ts';
import type { PolicyError } from '../errors.ts';
import { parseYamlSource } from '../parse/yaml-source.ts';
import { testFileSchema, type TestCase } from './test-file-schema.ts';

export type CaseResult = {
  file: string;
  line: number;
  name: string;
  passed: boolean;
  expected: string;
  got: string;
  /** What differed, one line each; empty when the case passed. */
  problems: string[];
};

export type TestRun = {
  results: CaseResult[];
  errors: PolicyError[];
  passed: number;
  failed: number;
  /** Rule ids of the bundle that no case expects to decide. */
  uncovered: string[];
};

/** Runs the cases of every test file against one bundle. Test files with errors count as failures. */
export function runTestFiles(bundle: PolicyBundle, files: readonly { path: string; text: string }[]): TestRun {
  const results: CaseResult[] = [];
  const errors: PolicyError[] = [];
  const covered = new Set<string>();
  for (const file of files) {
    const parsed = parseYamlSource(file.path, file.text, testFileSchema);
    if (!parsed.ok) {
      errors.push(...parsed.errors);
      continue;
    }
    for (const [i, testCase] of parsed.value.cases.entries()) {
      const { line } = parsed.map.positionOf(['cases', i]);
      const decision = bundle.evaluate({ ...testCase.input, now: testCase.input.now ?? parsed.value.now });
      const problems = compare(testCase, decision);
      if (problems.length === 0 && decision.rule_id) covered.add(decision.rule_id);
      results.push({
        file: file.path,
        line,
        name: testCase.name,
        passed: problems.length === 0,
        expected: `${testCase.expect.decision} by ${testCase.expect.rule_id ?? '(no rule)'}`,
        got: `${decision.decision} by ${decision.rule_id ?? '(no rule)'}`,
        problems,
      });
    }
  }
  const failed = results.filter((result) => !result.passed).length;
  return {
    results,
    errors,
    passed: results.length - failed,
    failed,
    uncovered: bundle.rules.map((rule) => rule.id).filter((id) => !covered.has(id)),
  };
}

function compare(testCase: TestCase, decision: Decision): string[] {
  const { expect } = testCase;
  const problems: string[] = [];
  if (decision.decision !== expect.decision) problems.push(`decision: expected ${expect.decision}, got ${decision.decision}`);
  if (decision.rule_id !== expect.rule_id) problems.push(`rule: expected ${expect.rule_id ?? 'none'}, got ${decision.rule_id ?? 'none'}`);
  if (expect.reasoning !== undefined && decision.reasoning !== expect.reasoning) {
    problems.push(`reasoning: expected ${JSON.stringify(expect.reasoning)}, got ${JSON.stringify(decision.reasoning)}`);
  }
  if (expect.reasoning_contains !== undefined && !decision.reasoning.includes(expect.reasoning_contains)) {
    problems.push(`reasoning: expected it to contain ${JSON.stringify(expect.reasoning_contains)}, got ${JSON.stringify(decision.reasoning)}`);
  }
  if (expect.via !== undefined && decision.escalation?.via !== expect.via) {
    problems.push(`via: expected ${expect.via}, got ${decision.escalation?.via ?? 'no escalation'}`);
  }
  return problems;
}
