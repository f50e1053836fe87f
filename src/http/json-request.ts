import type { IncomingMessage, ServerResponse } from 'node:http';
import { Problem } from '../lib/errors';
import { MAX_JSON_DEPTH, findJsonFlaw, jsonTextDepth } from '../lib/json-guard';
import { flawProblem } from './json-body';

/**
 * A JSON request body read without Express, for the bare routes (src/intake/bare-route.ts): the same answers
 * as `jsonBody` (body-parser with the hostile-input checks) gives, for the requests a bare route takes —
 * UTF-8 JSON without a content encoding. Anything else (another charset, gzip) is left to Express.
 */

/** `application/json`, optionally `; charset=utf-8`, exactly: what the bare routes take; Express answers the rest. */
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset=utf-8\s*)?$/i;

export function isPlainJsonRequest(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  const encoding = req.headers['content-encoding'];
  return type !== undefined && PLAIN_JSON.test(type) && (encoding === undefined || encoding.toLowerCase() === 'identity');
}

/** Whether the request has a body at all (type-is's rule, which `req.is()` applies before matching a type). */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || !Number.isNaN(Number(req.headers['content-length']));
}

// body-parser's strict mode: the first character that is not JSON whitespace must open an object or array.
const FIRST_CHAR = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/;

const notJson = () => new Problem('invalid-request', 'the request body is not valid JSON');
const tooLarge = (limit: number) => new Problem('payload-too-large', `the request body exceeds ${limit / 1024} KiB`);

/**
 * Reads and parses the body: over `limit` bytes 413 (from Content-Length before reading, or while reading);
 * nested deeper than MAX_JSON_DEPTH 422 before parsing; not strict JSON 400; empty `{}`; then NUL, lone
 * surrogates and non-finite numbers 422 with their path (src/lib/json-guard.ts).
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number.parseInt(req.headers['content-length'] ?? '', 10);
    if (!Number.isNaN(declared) && declared > limit) return reject(tooLarge(limit));
    const chunks: Buffer[] = [];
    let received = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      received += chunk.length;
      if (received > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('aborted', () => {
      failed = true;
      reject(Object.assign(new Error('request aborted'), { type: 'request.aborted', status: 400 }));
    });
    req.on('error', (err) => {
      failed = true;
      reject(err);
    });
    req.on('end', () => {
      if (failed) return;
      try {
        resolve(parseJsonText(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(e);
      }
    });
  });
}

function parseJsonText(raw: string): unknown {
  if (jsonTextDepth(raw) > MAX_JSON_DEPTH) {
    throw flawProblem({ path: [], code: 'too_deep', message: `nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays` });
  }
  // body-parser decodes with iconv-lite, which drops a UTF-8 byte order mark.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  if (text.length === 0) return {};
  const first = FIRST_CHAR.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw notJson();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw notJson();
  }
  const flaw = findJsonFlaw(body);
  if (flaw) throw flawProblem(flaw);
  return body;
}

/** What Express's `res.status(s).type(t).send(text)` sends for a string body, but an ETag. */
export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', `${contentType}; charset=utf-8`);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** A problem as `sendProblem` (src/http/problem-response.ts) sends it. */
export function sendBareProblem(res: ServerResponse, problem: Problem, instance: string): void {
  for (const [k, v] of Object.entries(problem.headers)) res.setHeader(k, v);
  if (problem.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(problem.retryAfterSeconds));
  sendText(res, problem.status, 'application/problem+json', JSON.stringify(problem.toJSON(instance)));
}
