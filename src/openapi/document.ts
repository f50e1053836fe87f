import { z } from 'zod';
import { PROBLEM_TYPES, PROBLEM_TYPE_BASE, type ProblemCode } from '../lib/errors';
import type { ApiOperation, OperationAuth, ResponseHeader } from './operation';
import { RESPONSE_HEADERS, headerRefs } from './headers';

const ALWAYS: ProblemCode[] = ['internal', 'service-unavailable'];

const problemSchema = z
  .object({
    type: z.string().describe(`${PROBLEM_TYPE_BASE}<code>`),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEM_TYPES) as [ProblemCode, ...ProblemCode[]]),
    retryable: z.boolean().describe('whether the same request may succeed later; honour Retry-After when present'),
    retry_after_seconds: z.number().optional(),
    instance: z.string().optional(),
  })
  .catchall(z.unknown())
  .describe('RFC 9457 problem details; extra members carry context (errors, action_id, decision…)');

const SECURITY: Record<Exclude<OperationAuth, 'none'>, { name: string; scheme: Record<string, unknown> }> = {
  agent: { name: 'agentToken', scheme: { type: 'http', scheme: 'bearer', description: 'Agent token (`csa_…`)' } },
  admin: { name: 'adminToken', scheme: { type: 'http', scheme: 'bearer', description: 'Admin credential (`csadm_…`)' } },
  'slack-signature': {
    name: 'slackSignature',
    scheme: { type: 'apiKey', in: 'header', name: 'X-Slack-Signature', description: 'HMAC of the body with the Slack signing secret' },
  },
};

/** JSON Schema 2020-12 (what OpenAPI 3.1 uses) of a zod schema, without its `$schema` marker. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** Builds the OpenAPI 3.1 document from the operations' zod schemas and the closed set of problem codes. */
export function buildOpenApiDocument(operations: ApiOperation[], opts: { version: string; serverUrl?: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const usedSchemes = new Set<Exclude<OperationAuth, 'none'>>();
  for (const op of operations) {
    const parameters: unknown[] = [];
    for (const name of op.path.match(/\{([^}]+)\}/g) ?? []) {
      parameters.push({ name: name.slice(1, -1), in: 'path', required: true, schema: { type: 'string' } });
    }
    if (op.request?.query) {
      const shape = op.request.query.shape as Record<string, z.ZodType>;
      for (const [name, field] of Object.entries(shape)) {
        const schema = jsonSchema(field, 'input');
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: !field.safeParse(undefined).success, schema: rest, ...(description ? { description } : {}) });
      }
    }
    for (const header of op.request?.headers ?? []) parameters.push({ name: header.name, in: 'header', required: false, description: header.description, schema: header.schema });
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      const contentType = r.contentType ?? 'application/json';
      responses[status] = {
        description: r.description,
        ...(r.headers?.length ? { headers: headerRefs(r.headers) } : {}),
        ...(r.schema
          ? { content: { [contentType]: { schema: jsonSchema(r.schema, 'output') } } }
          : r.contentType
            ? { content: Object.fromEntries(r.contentType.split(', ').map((t) => [t, {}])) }
            : {}),
      };
    }
    const byStatus = new Map<number, ProblemCode[]>();
    for (const code of [...(op.problems ?? []), ...ALWAYS]) {
      const status = PROBLEM_TYPES[code].status;
      if (!byStatus.has(status)) byStatus.set(status, []);
      if (!byStatus.get(status)!.includes(code)) byStatus.get(status)!.push(code);
    }
    for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
      if (responses[status]) continue;
      const headers: ResponseHeader[] = [...(op.problemHeaders?.[status] ?? []), ...(codes.some((c) => PROBLEM_TYPES[c].retryable) ? (['Retry-After'] as const) : [])];
      responses[status] = {
        description: codes.map((c) => `\`${c}\`: ${PROBLEM_TYPES[c].title}`).join('; '),
        ...(headers.length ? { headers: headerRefs(headers) } : {}),
        content: {
          'application/problem+json': {
            schema: { $ref: '#/components/schemas/Problem' },
            examples: Object.fromEntries(
              codes.map((c) => [c, { value: { type: PROBLEM_TYPE_BASE + c, title: PROBLEM_TYPES[c].title, status, detail: '…', code: c, retryable: PROBLEM_TYPES[c].retryable } }]),
            ),
          },
        },
      };
    }
    if (op.auth !== 'none') usedSchemes.add(op.auth);
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: op.tags,
      security: op.auth === 'none' ? [] : [{ [SECURITY[op.auth].name]: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(op.request?.body
        ? { requestBody: { required: true, content: { [op.request.contentType ?? 'application/json']: { schema: jsonSchema(op.request.body, 'input') } } } }
        : op.request?.contentType
          ? { requestBody: { required: true, content: { [op.request.contentType]: {} } } }
          : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Countersign',
      version: opts.version,
      description: 'Slack approval gateway for AI-agent actions. Errors are RFC 9457 problem details with a stable `code` and a `retryable` flag.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    // Relative: the document is served by the API it describes, so its own origin is the server.
    servers: [{ url: opts.serverUrl ?? '/', description: 'this Countersign instance' }],
    paths,
    components: {
      schemas: { Problem: jsonSchema(problemSchema, 'output') },
      headers: RESPONSE_HEADERS,
      securitySchemes: Object.fromEntries([...usedSchemes].map((s) => [SECURITY[s].name, SECURITY[s].scheme])),
    },
  };
}
