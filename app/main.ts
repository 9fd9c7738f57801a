import { envTableMarkdown, envTableText, loadConfigOrExit } from '../adapters/config/env.js';
import { DataDirLockedError } from '../adapters/store/pglite/data-dir-lock.js';
import { startOpsloop } from './start-opsloop.js';

const USAGE = `opsloop: a ChatOps incident bot (case → plan → gate → execute → verify).

Usage: npm start            (or: node --import tsx app/main.ts)
       npm start -- --help  (this text)
       npm start -- --env-markdown  (the variable table as Markdown, for README.md)

Configuration comes from environment variables:
${envTableText()}
`;

/** One line (the message, on one line) — and the stack below it only when LOG_LEVEL asks for debug detail. */
function startErrorText(err: unknown, logLevel: string): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  const debug = logLevel === 'debug' || logLevel === 'trace';
  return debug && err instanceof Error && err.stack ? `${message}\n${err.stack}` : message;
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  if (argv.includes('--env-markdown')) {
    process.stdout.write(`${envTableMarkdown()}\n`);
    return;
  }
  if (argv.length > 0) {
    process.stderr.write(`opsloop: unknown argument ${JSON.stringify(argv[0])}; configuration comes from environment variables (see --help)\n`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfigOrExit();
  if (!config) return;
  let app;
  try {
    app = await startOpsloop(config);
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      // A configuration error like a bad variable: one line, exit 2.
      process.stderr.write(`opsloop: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`opsloop: failed to start: ${startErrorText(err, config.logLevel)}\n`);
    // Everything opened was closed again, but work started before the failure (a runbook index,
    // a client's retry timer) may still hold the event loop: a failed start ends the process.
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`opsloop: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`opsloop: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main(process.argv.slice(2));
