/**
 * What the store says about one release candidate, as the dashboard's candidate page and
 * `relengd status` show it: its gates as they stand, and the promotions and refusals about it.
 */
import type { Config } from '../config/index.ts';
import { dataOf, hasObjectData, type StoredEvent } from '../store/events.ts';
import type { Store } from '../store/store.ts';
import { gateViews, type GateView, type GatingMessage } from './gates.ts';
import { GATING, type Candidate, type Gating } from './listeners/promoter.ts';
import { imageReleasesOf } from './images.ts';
import { groupSigning, unsignedImages } from './listeners/sign-gate.ts';
import { readSignature } from './listeners/sign-state.ts';
import { streamsOfGroup } from './listeners/streams.ts';

/**
 * The candidate's gates: the promoter's GATING state and the newest stored gating messages, put
 * through `gateViews`. `scanLimit`: how many of each gating topic's newest messages are looked at.
 */
export function candidateGates<Ref>(store: Store, config: Config, candidate: Candidate, refOf: (event: StoredEvent) => Ref, scanLimit: number): GateView<Ref>[] {
  const streams = streamsOfGroup(config, candidate.group).filter((s) => s.promote);
  const messages = (topic: string): GatingMessage<Ref>[] =>
    store.events.query({ topic, limit: scanLimit }).filter(hasObjectData).map((e) => ({ ref: refOf(e), data: e.envelope.data }));
  const approval = candidate.approval ? store.events.get(candidate.approval.eventId) : undefined;
  return gateViews({
    candidate,
    arches: streams.map((s) => s.arch),
    gates: streams[0]?.promote?.gates ?? [],
    gatingOf: (subject) => (store.state.get(GATING, subject) as Gating | undefined) ?? { greenwave: {}, results: {} },
    greenwaveMessages: messages('greenwave.decision.update'),
    resultsdbMessages: messages('resultsdb.result.new'),
    approvalEvent: approval ? refOf(approval) : null,
    signing: groupSigning(streams)
      ? {
          signatureOf: (commit) => readSignature(stateView(store), commit),
          eventRef: (id) => eventRefOf(store, id, refOf),
          ...(imageReleasesOf(streams, candidate.version).images ? { unsignedImages: unsignedImages(stateView(store), candidate, streams) } : {}),
        }
      : undefined,
  });
}

/** A stored event as the caller refers to it; null when it is no longer stored. */
function eventRefOf<Ref>(store: Store, id: string, refOf: (event: StoredEvent) => Ref): Ref | null {
  const event = store.events.get(id);
  return event ? refOf(event) : null;
}

const stateView = (store: Store) => ({ get: (ns: string, key: string) => store.state.get(ns, key), list: (ns: string) => store.state.list(ns) });

/** The stored events on `topic` about the candidate (`release.promoted`, `release.promotion.refused`), newest first, among the newest `scanLimit` about its group. */
export function candidateEvents(store: Store, candidate: Pick<Candidate, 'group' | 'version'>, topic: string, scanLimit: number): StoredEvent[] {
  return store.events.query({ topic, subject: candidate.group, limit: scanLimit }).filter((e) => dataOf(e).group === candidate.group && dataOf(e).version === candidate.version);
}
