import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { actions } from '../../src/db/schema';
import { closeSchema } from '../../src/contracts/close-schema';
import { compileContracts, contractViolations } from '../../src/contracts/validate';
import { parseFileConfig } from '../../src/config/file-config';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { controlsConfig } from './support';

// Explicit units, currency and time zone, as the sprint pack asks of a tool contract.
const CONTRACTS = `      external_automation.workflow.create:
        type: object
        required: [name, schedule, timezone]
        properties:
          name: { type: string, minLength: 1, maxLength: 100 }
          schedule: { type: string, pattern: "^[0-9*/,-]+( [0-9*/,-]+){4}$" }
          timezone: { type: string, enum: [UTC, Europe/Berlin, America/New_York] }
          target_count: { type: integer, minimum: 0 }
          retry: { type: object, properties: { max_attempts: { type: integer, minimum: 0, maximum: 10 } } }
      external_automation.api.write:
        type: object
        required: [amount, currency]
        properties:
          amount: { type: number, exclusiveMinimum: 0, description: "major units of currency" }
          currency: { type: string, enum: [EUR, USD] }
          starts_at: { type: string, format: date-time }
      external_automation.read.*:
        type: object
        additionalProperties: true
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ configFor: (url) => controlsConfig(url, { contracts: CONTRACTS }), start: { workers: false } });
});
afterAll(async () => {
  await h?.close();
});

const good = { name: 'nightly-sync', schedule: '0 3 * * *', timezone: 'Europe/Berlin', target_count: 3 };

describe('tool contracts at the intake', () => {
  it('accepts params that satisfy the contract', async () => {
    const res = await h.post(actionRequest({ params: good }));
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending_approval');
  });

  it('refuses with 422 contract-violation listing every violation, unknown fields included', async () => {
    const res = await h.post(actionRequest({ params: { name: '', schedule: 'tomorrow', colour: 'blue', retry: { max_attempts: 99, when: 'always' } } }));
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'contract-violation', retryable: false, executor: 'automation', action_class: 'external_automation.workflow.create' });
    const byPath = Object.fromEntries(res.body.errors.map((e: { path: string; message: string }) => [e.path, e.message]));
    expect(Object.keys(byPath).sort()).toEqual(['params.colour', 'params.name', 'params.retry.max_attempts', 'params.retry.when', 'params.schedule', 'params.timezone'].sort());
    expect(byPath['params.colour']).toMatch(/unknown/);
    expect(byPath['params.timezone']).toBe('is required');
  });

  it('checks formats and units (date-time, currency enum, positive amount)', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.api.write', params: { amount: -5, currency: 'GBP', starts_at: 'next tuesday' } }));
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['params.amount', 'params.currency', 'params.starts_at']);
  });

  it('runs before policy: a request policy would deny is still refused for its contract, and nothing is recorded', async () => {
    const body = actionRequest({ params: { ...good, extra: 1, target_count: 400 } });
    const res = await h.post(body);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('contract-violation');
    const [rows] = await h.db.db.select({ n: count() }).from(actions).where(eq(actions.idempotencyKey, body.idempotency_key as string));
    expect(rows!.n).toBe(0);
    // The same request with valid params reaches policy, which denies it.
    const denied = await h.post({ ...body, params: { ...good, target_count: 400 }, idempotency_key: `${body.idempotency_key}-2` });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('policy-denied');
  });

  it('refuses an action class the executor has no contract for', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.job.run', params: {} }));
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ path: 'action_class', message: 'executor automation has no contract for external_automation.job.run' }]);
  });

  it('lets a contract keep its object open on purpose', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.read.jobs', params: { anything: 'goes' }, context: {} }));
    expect(res.status).toBe(201);
  });
});

describe('contract compilation', () => {
  it('closes objects that do not say otherwise, but not allOf branches or explicit choices', () => {
    expect(closeSchema({ type: 'object', properties: { a: { type: 'object', properties: {} } } })).toEqual({
      type: 'object',
      properties: { a: { type: 'object', properties: {}, additionalProperties: false } },
      additionalProperties: false,
    });
    expect(closeSchema({ type: 'object', additionalProperties: { type: 'string' } })).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(closeSchema({ allOf: [{ type: 'object', properties: { a: {} } }], unevaluatedProperties: false })).toEqual({
      allOf: [{ type: 'object', properties: { a: {} } }],
      unevaluatedProperties: false,
    });
    expect(closeSchema({ type: 'array', items: { type: 'object', properties: { x: {} } } })).toEqual({
      type: 'array',
      items: { type: 'object', properties: { x: {} }, additionalProperties: false },
    });
  });

  it('does not check executors that declare no contracts', () => {
    const config = parseFileConfig(`executors:\n  - { name: x, action_classes: ["a.*"], url: "http://127.0.0.1:1/", secret: "0123456789abcdef" }\n`);
    expect(contractViolations(config.executors[0]!, 'a.b', { whatever: true })).toEqual([]);
  });

  it('refuses to start with a broken schema or a bad pattern, naming them', () => {
    const config = parseFileConfig(
      `executors:\n  - name: x\n    action_classes: ["a.*"]\n    url: "http://127.0.0.1:1/"\n    secret: "0123456789abcdef"\n    contracts:\n      "a.b": { type: object, propertis: {} }\n      "A B": { type: object }\n`,
    );
    expect(() => compileContracts(config)).toThrow(/a\.b[\s\S]*propertis|propertis[\s\S]*a\.b/);
    expect(() => compileContracts(config)).toThrow(/"A B" is not an action-class glob/);
  });
});
