import { systemClock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { Dispatcher } from '../pipeline/dispatcher.ts';
import { Intake } from '../pipeline/intake.ts';
import { allListeners } from '../pipeline/listeners/index.ts';
import { Router } from '../pipeline/router.ts';
import { openStore } from '../store/open.ts';

/** The store, inbox and listeners without the daemon: for commands that dispatch in process (replay). Jobs they enqueue run in the daemon. */
export async function openPipeline(config: Config, logger: Logger) {
  const store = await openStore(config);
  const clock = systemClock;
  const dispatcher = new Dispatcher({ store, router: new Router(allListeners), config, clock, logger });
  const intake = new Intake({ store, config, clock, logger, maxMessageBytes: config.http.maxBodyBytes });
  return { store, dispatcher, intake };
}
