import type { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { resolveConfig, type GlobalOptions } from '../context.ts';
import { startDaemon } from '../daemon.ts';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the daemon: consume, run jobs, publish, serve HTTP (POST /events, /healthz, /readyz)')
    .action(async (_opts: object, cmd: Command) => {
      const { config, file } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const logger = createLogger({ level: config.log.level, fd: 1 });
      logger.info({ component: 'daemon', config: file ?? '(defaults)' }, 'starting');
      const daemon = await startDaemon({ config, logger });
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string): void => {
          logger.info({ component: 'daemon', signal }, 'shutting down');
          daemon.stop().then(resolve, (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
    });
}
