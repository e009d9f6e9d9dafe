/**
 * What the store says about one release candidate, as the dashboard's candidate page and
 * `relengd status` show it: its gates as they stand, and the promotions and refusals about it.
 */
import type { Config } from '../config/index.ts';
import { dataOf, hasObjectData, type StoredEvent } from '../store/events.ts';
import type { StoreApi } from '../store/api.ts';
import { gateViews, type GateView, type GatingMessage } from './gates.ts';
import { GATING, type Candidate, type Gating } from './listeners/promoter.ts';
import { imageReleasesOf } from './images.ts';
import { groupSigning, unsignedImages } from './listeners/sign-gate.ts';
import { readSignature } from './listeners/sign-state.ts';
import { streamsOfGroup } from './listeners/streams.ts';
import { CachedState, StateMiss } from './state-cache.ts';

/**
 * The candidate's gates: the promoter's GATING state and the newest stored gating messages, put
 * through `gateViews`. `scanLimit`: how many of each gating topic's newest messages are looked at.
 */
export async function candidateGates<Ref>(store: StoreApi, config: Config, candidate: Candidate, refOf: (event: StoredEvent) => Ref, scanLimit: number): Promise<GateView<Ref>[]> {
  const streams = streamsOfGroup(config, candidate.group).filter((s) => s.promote);
  const messages = async (topic: string): Promise<GatingMessage<Ref>[]> =>
    (await store.events.query({ topic, limit: scanLimit })).filter(hasObjectData).map((e) => ({ ref: refOf(e), data: e.envelope.data }));
  const approval = candidate.approval ? await store.events.get(candidate.approval.eventId) : undefined;
  const greenwaveMessages = await messages('greenwave.decision.update');
  const resultsdbMessages = await messages('resultsdb.result.new');
  // gateViews and the signing reads are synchronous (the listeners' own): each state value or event
  // they ask for that was not read yet is read, then they run again (read-miss restart).
  const state = new CachedState(store);
  const events = new Map<string, StoredEvent | undefined>();
  const eventRef = (id: string): Ref | null => {
    if (!events.has(id)) throw new EventMiss(id);
    const event = events.get(id);
    return event ? refOf(event) : null;
  };
  for (;;) {
    try {
      return gateViews({
        candidate,
        arches: streams.map((s) => s.arch),
        gates: streams[0]?.promote?.gates ?? [],
        gatingOf: (subject) => (state.get(GATING, subject) as Gating | undefined) ?? { greenwave: {}, results: {} },
        greenwaveMessages,
        resultsdbMessages,
        approvalEvent: approval ? refOf(approval) : null,
        signing: groupSigning(streams)
          ? {
              signatureOf: (commit) => readSignature(state, commit),
              eventRef,
              ...(imageReleasesOf(streams, candidate.version).images ? { unsignedImages: unsignedImages(state, candidate, streams) } : {}),
            }
          : undefined,
      });
    } catch (error) {
      if (error instanceof StateMiss) await state.fill(error);
      else if (error instanceof EventMiss) events.set(error.id, await store.events.get(error.id));
      else throw error;
    }
  }
}

/** An event `candidateGates` has not read yet. */
class EventMiss extends Error {
  readonly id: string;

  constructor(id: string) {
    super(`event ${id} not read yet`);
    this.id = id;
  }
}

/** The stored events on `topic` about the candidate (`release.promoted`, `release.promotion.refused`), newest first, among the newest `scanLimit` about its group. */
export async function candidateEvents(store: StoreApi, candidate: Pick<Candidate, 'group' | 'version'>, topic: string, scanLimit: number): Promise<StoredEvent[]> {
  return (await store.events.query({ topic, subject: candidate.group, limit: scanLimit })).filter((e) => dataOf(e).group === candidate.group && dataOf(e).version === candidate.version);
}
