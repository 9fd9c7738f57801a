import { envTableMarkdown, envTableText, loadConfigOrExit } from '../adapters/config/env.js';
import { DataDirLockedError } from '../adapters/store/pglite/data-dir-lock.js';
import { startOpsloop } from './start-opsloop.js';

const USAGE = `opsloop: a ChatOps incident bot (case → plan → gate → execute → verify).

Usage: npm start            (or: tsx app/main.ts)
       npm start -- --help  (this text)
       npm start -- --env-markdown  (the variable table as Markdown, for README.md)

Configuration comes from environment variables:
${envTableText()}
`;

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
    process.stderr.write(`opsloop: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    return;
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
