// A worker thread of the study: builds the plan once, then makes the runs it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { run } from './run.js';
import { makePlan } from './setup.js';
import type { Settings } from './setup.js';
import type { Task } from './study.js';

const plan = makePlan(workerData as Settings);
parentPort!.on('message', ({ index, task }: { index: number; task: Task }) => {
  const result = run(plan.problems[task.problem]!, plan.optimizers[task.optimizer]!, plan.lrs[task.lr]!, plan.seeds[task.seed]!);
  parentPort!.postMessage({ index, result });
});
