import { z } from 'zod';
import type { ApiOperation } from '../openapi/operation';
import { openTaskRequest } from './routes';

export const taskView = z.object({
  id: z.string(),
  status: z.enum(['open', 'closed', 'expired']),
  description: z.string(),
  created_at: z.string(),
  expires_at: z.string(),
  closed_at: z.string().nullable(),
  budgets: z.array(
    z.object({ name: z.string(), max: z.number(), unit: z.string().nullable(), counts: z.string(), action_classes: z.array(z.string()).nullable() }),
  ),
});

/** /v1/tasks in the OpenAPI document (src/openapi/operations.ts spreads these in). */
export const TASK_OPERATIONS: ApiOperation[] = [
  {
    method: 'post',
    path: '/v1/tasks',
    operationId: 'openTask',
    summary: 'Open a task: the unit per-task budgets count against (send its id as `task_id`)',
    tags: ['actions'],
    auth: 'agent',
    request: { body: openTaskRequest },
    responses: { 201: { description: 'The task, open, with the per-task budgets that apply', schema: taskView, headers: ['Location'] } },
    problems: ['invalid-request', 'validation-failed', 'unauthenticated', 'agent-suspended', 'task-limit'],
  },
  {
    method: 'get',
    path: '/v1/tasks/{id}',
    operationId: 'getTask',
    summary: "Read one of this agent's tasks",
    tags: ['actions'],
    auth: 'agent',
    responses: { 200: { description: 'The task', schema: taskView } },
    problems: ['unauthenticated', 'not-found'],
  },
  {
    method: 'post',
    path: '/v1/tasks/{id}/close',
    operationId: 'closeTask',
    summary: 'Close a task; its actions keep their budgets, new actions cannot join it',
    tags: ['actions'],
    auth: 'agent',
    responses: { 200: { description: 'The task, closed', schema: taskView } },
    problems: ['unauthenticated', 'not-found'],
  },
];
