import express, { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import type { FileConfig } from '../config/file-config';
import { requireAgent } from '../http/agent-auth';
import { Problem } from '../lib/errors';
import { zodProblem } from '../intake/zod-problem';
import { closeTask, findTask, openTask, toTaskView } from './service';

export const openTaskRequest = z.strictObject({
  /** What the task is for, shown in the evidence. */
  description: z.string().max(500).default(''),
});

const TASK_ID = /^tsk_[a-z0-9]{1,64}$/;

/** /v1/tasks: tasks the server opens for an agent, so per-task budgets count against something it cannot mint. */
export function tasksRouter(deps: { db: Db; config: FileConfig }): Router {
  const router = Router();
  const json = express.json({ limit: '16kb', strict: true, type: () => true });

  router.post('/tasks', requireAgent(deps.db), json, async (req, res, next) => {
    try {
      const parsed = openTaskRequest.safeParse(req.body ?? {});
      if (!parsed.success) throw zodProblem(parsed.error);
      const agent = req.principal!.agent;
      const row = await openTask(deps.db, deps.config, agent, parsed.data.description);
      res.status(201).setHeader('Location', `/v1/tasks/${row.id}`);
      res.json(toTaskView(row, deps.config, agent));
    } catch (e) {
      next(e);
    }
  });

  router.get('/tasks/:id', requireAgent(deps.db), async (req, res, next) => {
    try {
      const agent = req.principal!.agent;
      const id = String(req.params.id);
      const row = TASK_ID.test(id) ? await findTask(deps.db, agent, id) : undefined;
      if (!row) throw new Problem('not-found', 'no such task');
      res.json(toTaskView(row, deps.config, agent));
    } catch (e) {
      next(e);
    }
  });

  router.post('/tasks/:id/close', requireAgent(deps.db), async (req, res, next) => {
    try {
      const agent = req.principal!.agent;
      const id = String(req.params.id);
      if (!TASK_ID.test(id)) throw new Problem('not-found', 'no such task');
      res.json(toTaskView(await closeTask(deps.db, agent, id), deps.config, agent));
    } catch (e) {
      next(e);
    }
  });

  return router;
}
