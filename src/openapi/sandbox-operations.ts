import { z } from 'zod';
import type { ApiOperation } from './operation';

/** The page's own error answers (not problems: only the page calls these routes). */
const sandboxError = z.object({ error: z.string() });
const sandboxUser = z.object({ user: z.string().describe('the sandbox user acting (a Slack user id of the emulator)') }).catchall(z.unknown());

/**
 * The /sandbox page and its demo executor (src/sandbox), mounted only in sandbox mode. Bodies are the page's own
 * (validated strictly by src/sandbox/routes.ts); they are documented loosely here because no agent calls them.
 */
export const SANDBOX_OPERATIONS: ApiOperation[] = [
  { method: 'get', path: '/sandbox', operationId: 'sandboxPage', summary: 'The sandbox page (HTML)', tags: ['sandbox'], auth: 'none', mode: 'sandbox', responses: { 200: { description: 'HTML page', contentType: 'text/html' } } },
  {
    method: 'get',
    path: '/sandbox/assets/{file}',
    operationId: 'sandboxAsset',
    summary: 'The page’s script and stylesheet',
    tags: ['sandbox'],
    auth: 'none',
    mode: 'sandbox',
    responses: { 200: { description: 'A static asset', contentType: 'text/javascript, text/css' }, 404: { description: 'No such asset' } },
  },
  { method: 'get', path: '/sandbox/state', operationId: 'sandboxState', summary: 'Channels, messages and open views of the built-in Slack emulator', tags: ['sandbox'], auth: 'none', mode: 'sandbox', responses: { 200: { description: 'Emulator snapshot', contentType: 'application/json' } } },
  { method: 'get', path: '/sandbox/events', operationId: 'sandboxEvents', summary: 'Server-Sent Events: the emulator changed', tags: ['sandbox'], auth: 'none', mode: 'sandbox', responses: { 200: { description: 'Event stream', contentType: 'text/event-stream' } } },
  ...(
    [
      ['click', 'Click a button on a card or in a modal, delivered signed to /slack/events as Slack would'],
      ['command', 'Send a slash command (e.g. /audit …)'],
      ['submit', 'Submit a modal'],
      ['close-view', 'Close a modal'],
    ] as const
  ).map(
    ([name, summary]): ApiOperation => ({
      method: 'post',
      path: `/sandbox/${name}`,
      operationId: `sandbox${name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`,
      summary,
      tags: ['sandbox'],
      auth: 'none',
      mode: 'sandbox',
      request: { body: sandboxUser },
      responses: {
        200: { description: 'What the app answered to the delivery', contentType: 'application/json' },
        400: { description: 'The body is not what the page sends', schema: sandboxError },
        415: { description: 'Not JSON', schema: sandboxError },
      },
    }),
  ),
  {
    method: 'post',
    path: '/sandbox/demo-agent',
    operationId: 'sandboxDemoAgent',
    summary: 'Create a demo agent and its token for trying the API from the page',
    tags: ['sandbox'],
    auth: 'none',
    mode: 'sandbox',
    responses: {
      201: { description: 'The agent and its token', contentType: 'application/json' },
      415: { description: 'Not JSON', schema: sandboxError },
    },
  },
  {
    method: 'post',
    path: '/sandbox/executor',
    operationId: 'sandboxExecutor',
    summary: 'The demo executor: verifies the commit signature and answers as a real executor would',
    tags: ['sandbox'],
    auth: 'none',
    mode: 'sandbox',
    request: { contentType: 'application/json' },
    responses: {
      200: { description: 'Committed', contentType: 'application/json' },
      400: { description: 'The signed body is not JSON', schema: sandboxError },
      401: { description: 'Bad signature', schema: sandboxError },
    },
  },
  {
    method: 'post',
    path: '/sandbox/executor/prepare',
    operationId: 'sandboxExecutorPrepare',
    summary: "The demo executor's prepare step: facts (target_count), a preview and the plan",
    tags: ['sandbox'],
    auth: 'none',
    mode: 'sandbox',
    request: { contentType: 'application/json' },
    responses: { 200: { description: 'Prepared', contentType: 'application/json' }, 401: { description: 'Bad signature', schema: sandboxError } },
  },
  {
    method: 'post',
    path: '/sandbox/executor/revise',
    operationId: 'sandboxExecutorRevise',
    summary: 'Changes the plan the demo executor would carry out, so an approved action drifts at release',
    tags: ['sandbox'],
    auth: 'none',
    mode: 'sandbox',
    responses: { 200: { description: 'The new plan revision', contentType: 'application/json' } },
  },
];
