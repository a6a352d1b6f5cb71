import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router } from 'express';
import type { Config } from '../config';
import { basicAuth } from './basic-auth';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * bull-board over the internal queues, behind basic auth, for the sidecar to mount at QUEUE_BOARD_PATH; undefined
 * (no route, so 404) unless BULL_BOARD_USER and BULL_BOARD_PASSWORD are both set. Read-only unless
 * BULL_BOARD_READ_ONLY=false. @bull-board/express 9 is built on Express 5 and brings its own app, mounted here
 * as a sub-app; it serves the UI, its assets and its JSON API (e.g. GET …/api/queues) under the base path.
 */
export function queueBoard(config: Config, queues: readonly Queue[]): Router | undefined {
  if (!config.BULL_BOARD_USER || !config.BULL_BOARD_PASSWORD) return undefined;
  const serverAdapter = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: config.BULL_BOARD_READ_ONLY })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'paysvc queues' } },
  });
  const router = Router();
  router.use(basicAuth(config.BULL_BOARD_USER, config.BULL_BOARD_PASSWORD, 'paysvc queues'));
  router.use(serverAdapter.getRouter());
  return router;
}
