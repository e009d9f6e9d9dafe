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
      // Handled from the first moment: a SIGTERM while the daemon starts (its log lines are already
      // out) would otherwise kill it with the default action, mid-startup; it stops once started.
      const stopSignal = new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      logger.info({ component: 'daemon', config: file ?? '(defaults)' }, 'starting');
      const daemon = await startDaemon({ config, logger });
      const signal = await stopSignal;
      logger.info({ component: 'daemon', signal }, 'shutting down');
      try {
        await daemon.stop();
      } catch (error) {
        logger.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      }
    });
}
