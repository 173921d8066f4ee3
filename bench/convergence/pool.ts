// Runs the study's tasks on worker threads (one per core by default). Results come back in task
// order whatever the scheduling, and each run depends only on its task: the study is
// deterministic for its seeds whatever the number of workers.
import { Worker } from 'node:worker_threads';
import { run } from './run.js';
import type { RunResult } from './run.js';
import type { Settings } from './setup.js';
import type { Plan, Task } from './study.js';

/** Called after every finished run. */
export type Progress = (done: number, total: number, task: Task) => void;

/** Makes every run of `list`; `workers` 0 runs them in this thread. */
export async function runAll(plan: Plan, settings: Settings, list: readonly Task[], workers: number, progress: Progress): Promise<RunResult[]> {
  const results: RunResult[] = new Array<RunResult>(list.length);
  if (workers === 0) {
    list.forEach((task, i) => {
      results[i] = run(plan.problems[task.problem]!, plan.optimizers[task.optimizer]!, plan.lrs[task.lr]!, plan.seeds[task.seed]!);
      progress(i + 1, list.length, task);
    });
    return results;
  }
  let next = 0;
  let done = 0;
  const url = new URL('./worker.js', import.meta.url);
  await Promise.all(
    Array.from({ length: Math.min(workers, list.length) }, () =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(url, { workerData: settings });
        const send = (): void => {
          if (next === list.length) {
            void worker.terminate().then(() => resolve());
            return;
          }
          const index = next++;
          worker.postMessage({ index, task: list[index] });
        };
        worker.on('message', ({ index, result }: { index: number; result: RunResult }) => {
          results[index] = result;
          progress(++done, list.length, list[index]!);
          send();
        });
        worker.on('error', reject);
        send();
      }),
    ),
  );
  return results;
}
