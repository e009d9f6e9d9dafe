/**
 * The transports the contract runs against, each with its adapter. A scenario file runs every
 * scenario on each (`forEachTransport`), in a describe per transport that is skipped, saying why,
 * where the transport cannot run here.
 */
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { tempDir } from '../../helpers/tmp.ts';
import type { PrivateNode } from '../amqp/private-node.ts';
import { amqpAdapter } from './amqp.ts';
import { embeddedAdapter } from './embedded.ts';
import { contractNames, openRelengd, type BusUnderTest, type ContractNames, type DeliveryGate, type Relengd, type TransportAdapter } from './harness.ts';
import { kafkaAdapter } from './kafka.ts';

export interface TransportOptions {
  /** RabbitMQ: a throwaway node of the file's own (for what may not be done to the shared broker), or why there is none. */
  amqpNode?: { node: PrivateNode | null; missing: string | null };
}

export function transports(o: TransportOptions = {}): TransportAdapter[] {
  return [embeddedAdapter(), o.amqpNode ? amqpAdapter(o.amqpNode) : amqpAdapter(), kafkaAdapter()];
}

/** A describe per transport (set up once for the file), skipped with the reason where it cannot run. */
export function forEachTransport(title: string, adapters: readonly TransportAdapter[], body: (adapter: TransportAdapter) => void): void {
  for (const adapter of adapters) {
    const heading = `${title}: ${adapter.name}${adapter.missing === null ? '' : ` (skipped: ${adapter.missing})`}`;
    describe.skipIf(adapter.missing !== null)(heading, () => {
      beforeAll(() => adapter.setup());
      afterAll(() => adapter.teardown());
      body(adapter);
    });
  }
}

export interface Scenario {
  names: ContractNames;
  relengd: Relengd;
}

/**
 * For a describe: `attach` starts relengd on the adapter's transport, `open` only relengd's store,
 * inbox and listeners; whatever a test started is stopped and cleaned up after it.
 */
export function scenarios(adapter: TransportAdapter) {
  const started: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of started.splice(0).reverse()) await stop();
  });
  const open = (label: string, gate?: DeliveryGate): Scenario => {
    const names = contractNames(label);
    const relengd = openRelengd({ dir: tempDir(), names, busYaml: adapter.busYaml(names), gate });
    started.push(async () => {
      await relengd.store.close();
      await adapter.cleanUp(names);
    });
    return { names, relengd };
  };
  return {
    open,
    async attach(label: string, o: { topics: readonly string[]; watch?: readonly string[]; gate?: DeliveryGate }): Promise<Scenario & { bus: BusUnderTest }> {
      const scenario = open(label, o.gate);
      const attached = await adapter.attach({ ...scenario, topics: o.topics, watch: o.watch });
      // A test may stop it itself (relengd going down); stopping again is a no-op.
      let stopping: Promise<void> | undefined;
      const bus: BusUnderTest = { ...attached, stop: () => (stopping ??= attached.stop()) };
      started.push(() => bus.stop());
      return { ...scenario, bus };
    },
  };
}
