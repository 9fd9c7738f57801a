import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './results.js';

/** Fork `moduleUrl` (an `import.meta.url`) with `--serve`, through the tsx loader, with an IPC channel. */
export function forkServe(moduleUrl: string): ChildProcess {
  return fork(fileURLToPath(moduleUrl), ['--serve'], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Close the IPC channel (the child exits on `disconnect`) and wait for the exit. */
export function disconnectChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.disconnect();
  });
}
