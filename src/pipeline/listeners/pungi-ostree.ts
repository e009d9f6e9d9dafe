import type { StreamConfig } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import { composeId } from '../../events/ids.ts';
import type { PungiComposeOstree } from '../../events/inbound/pungi.ts';
import { Checksum, type OstreeComposeFailed, type OstreeComposeFinished } from '../../events/relengd/compose.ts';
import type { PungiCommitJobSpec } from '../../jobs/specs.ts';
import { isSafeValue } from '../../trust.ts';
import { nothing, type Decision, type Listener, type ListenerContext } from '../listener.ts';
import { loadPungiCompose, savePungiCompose, streamsOfPungiCompose, type PungiArch } from './pungi-composes.ts';

export const PUNGI_OSTREE = 'pungi-ostree';

/**
 * Pungi's ostree phase committed a ref for one variant and arch of a compose: for each stream whose
 * `triggers.pungi` takes the compose id and variant, on its arch and `ostree.ref`, record the commit
 * and have a `pungi-commit` job find it in the compose repository (a listener does no I/O); the
 * job's result is the stream's `ostree.compose.finished`. The compose's first message for a stream
 * counts; later ones (repeats, another message id) change nothing. A compose Pungi already ended
 * as DOOMED takes no more commits.
 */
export const pungiOstree: Listener = {
  name: PUNGI_OSTREE,
  topics: ['pungi.compose.ostree'],
  handle(event: Envelope, { config, state }: ListenerContext): Decision {
    const message = event.data as PungiComposeOstree;
    const pungiComposeId = message.compose_id;
    // Compose ids become versions and reach command lines ({version}): only safe ones are taken.
    if (!isSafeValue(pungiComposeId)) return nothing();
    const streams = streamsOfPungiCompose(config, pungiComposeId).filter(
      (s) => s.triggers.pungi!.variant === message.variant && s.arch === message.arch && s.ostree.ref === message.ref,
    );
    const before = loadPungiCompose(state, pungiComposeId);
    const compose = { ...before, arches: { ...before.arches } };
    const decision = nothing();
    for (const stream of streams) {
      if (compose.arches[stream.id] || compose.announced[stream.id]) continue;
      const archComposeId = composeId(pungiComposeId, PUNGI_OSTREE, stream.id);
      compose.arches[stream.id] = record(event, stream, pungiComposeId, archComposeId, message.commitid, decision);
    }
    if (decision.jobs.length + decision.emit.length > 0) decision.patches.push(savePungiCompose(pungiComposeId, compose));
    return decision;
  },
};

/** The arch's record, and what it takes: a job to find the commit, or the event saying why there is none to find. */
function record(event: Envelope, stream: StreamConfig, pungiComposeId: string, archComposeId: string, commit: string | null, decision: Decision): PungiArch {
  const causes = [{ id: event.id, topic: event.topic }];
  const common = { composeId: archComposeId, stream: stream.id, ref: stream.ostree.ref, version: pungiComposeId, pungiComposeId };
  if (commit === null) {
    const data: OstreeComposeFinished = { ...common, causes, commit: null, parent: null, duration: 0 };
    decision.emit.push({ topic: 'relengd.ostree.compose.finished', key: stream.id, subject: stream.ostree.ref, data });
    return { composeId: archComposeId, commit: null, state: 'unchanged', artifacts: {} };
  }
  if (!Checksum.safeParse(commit).success) {
    const error = `Pungi announced commit ${JSON.stringify(commit.slice(0, 80))} for ${stream.ostree.ref}, which is not an OSTree checksum (64 hex digits)`;
    const data: OstreeComposeFailed = { ...common, error, log: null };
    decision.emit.push({ topic: 'relengd.ostree.compose.failed', key: stream.id, subject: stream.ostree.ref, data });
    return { composeId: archComposeId, commit: null, state: 'refused', error, artifacts: {} };
  }
  // Repo, ref and stream come from the configuration; the commit is a checked checksum.
  const spec: PungiCommitJobSpec = { ...common, repo: stream.triggers.pungi!.repo, commit, causes };
  decision.jobs.push({ kind: 'pungi-commit', key: stream.id, queueKey: `pungi-commit:${stream.id}`, spec });
  return { composeId: archComposeId, commit, state: 'verifying', artifacts: {} };
}
