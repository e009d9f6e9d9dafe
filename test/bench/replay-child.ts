/**
 * Replays every event of a populated store through the real listeners, in a process of its own
 * so its peak RSS is the replay's. Prints one JSON line.
 */
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log.ts';
import { Dispatcher } from '../../src/pipeline/dispatcher.ts';
import { allListeners } from '../../src/pipeline/listeners/index.ts';
import { replayStored } from '../../src/pipeline/replay.ts';
import { Router } from '../../src/pipeline/router.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { peakRssMiB } from './peak-rss.ts';
import { benchConfigYaml } from './replay-setup.ts';

const dir = process.argv[2]!;
const config = parseConfig(benchConfigYaml(dir), {});
const store = SqliteStore.open(config.store.path);
const dispatcher = new Dispatcher({ store, router: new Router(allListeners), config, clock: systemClock, logger: silentLogger(), batchSize: 1000 });
const started = performance.now();
const report = await replayStored(store, dispatcher, {}, { dryRun: false });
const seconds = (performance.now() - started) / 1000;
await store.close();
process.stdout.write(`${JSON.stringify({ events: report.selected, seconds, emitted: report.emitted.length, enqueued: report.enqueued.length, maxRssMb: peakRssMiB() })}\n`);
