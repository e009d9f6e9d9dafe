import type { StreamConfig } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import type { PungiComposeStatusChange } from '../../events/inbound/pungi.ts';
import type { ArtifactFailed, ArtifactFinished, ArtifactRequested } from '../../events/relengd/artifact.ts';
import type { OstreeComposeFailed, OstreeComposeFinished } from '../../events/relengd/compose.ts';
import type { ComposeFinished, ComposeStatus, PromotionRefused } from '../../events/relengd/release.ts';
import { isSafeValue } from '../../trust.ts';
import { nothing, type Decision, type Emit, type Listener, type ListenerContext } from '../listener.ts';
import { composeStatus, withArtifactRequested, withArtifactResult } from './compose-tracker.ts';
import { finalStatus, loadPungiCompose, savePungiCompose, streamsOfPungiCompose, type PungiArch, type PungiCompose } from './pungi-composes.ts';
import { byGroup } from './streams.ts';

const SEVERITY: Record<ComposeStatus, number> = { FINISHED: 0, FINISHED_INCOMPLETE: 1, DOOMED: 2 };

/**
 * Ends a Pungi compose as Pungi says, once per stream, whatever order its messages come in and
 * however often: `compose.finished` under Pungi's compose id (also its version, so gating on the
 * compose id gates it), for each stream whose arch's commit was found in the compose repository
 * and whose artifacts are built, with Pungi's status (worsened by a failed artifact, as
 * compose-tracker does). DOOMED (or TERMINATED) dooms every stream of the compose, commit or not.
 * A FINISHED compose without a usable commit for an arch is refused naming the arch and why; a
 * commit that comes after that still finishes the arch (messages may come out of order).
 */
export const pungiTracker: Listener = {
  name: 'pungi-tracker',
  topics: [
    'pungi.compose.status.change',
    'relengd.ostree.compose.finished',
    'relengd.ostree.compose.failed',
    'relengd.artifact.build.requested',
    'relengd.artifact.build.finished',
    'relengd.artifact.build.failed',
  ],
  handle(event: Envelope, context: ListenerContext): Decision {
    if (event.topic === 'pungi.compose.status.change') {
      const message = event.data as PungiComposeStatusChange;
      const status = finalStatus(message.status);
      if (status === null || !isSafeValue(message.compose_id)) return nothing();
      // Fedora's bus carries every compose (rawhide, ELN, IoT, ...): keep state only for those a stream takes.
      if (streamsOfPungiCompose(context.config, message.compose_id).length === 0) return nothing();
      const compose = loadPungiCompose(context.state, message.compose_id);
      if (compose.status !== null) return nothing(); // its end was heard already
      return settle(context, message.compose_id, { ...compose, status });
    }
    const data = event.data as OstreeComposeFinished | OstreeComposeFailed | ArtifactRequested | ArtifactFinished | ArtifactFailed;
    if (data.pungiComposeId === undefined) return nothing(); // not a commit Pungi made
    const compose = loadPungiCompose(context.state, data.pungiComposeId);
    const arch = compose.arches[data.stream];
    if (!arch || compose.announced[data.stream]) return nothing();
    const updated = archAfter(event.topic, arch, data);
    if (!updated) return nothing();
    return settle(context, data.pungiComposeId, { ...compose, arches: { ...compose.arches, [data.stream]: updated } });
  },
};

/** The arch after a result about it; undefined when the result changes nothing (unknown, or counted already). */
function archAfter(topic: string, arch: PungiArch, data: unknown): PungiArch | undefined {
  switch (topic) {
    case 'relengd.ostree.compose.finished': {
      // A refused commit found after all (an operator retried its job once the repository was fixed) counts too.
      const found = (data as OstreeComposeFinished).commit;
      return (arch.state === 'verifying' || arch.state === 'refused') && found !== null && found === arch.commit ? { ...arch, state: 'verified', error: undefined } : undefined;
    }
    case 'relengd.ostree.compose.failed':
      return arch.state === 'verifying' ? { ...arch, state: 'refused', error: (data as OstreeComposeFailed).error } : undefined;
    case 'relengd.artifact.build.requested':
      return { ...arch, artifacts: withArtifactRequested(arch.artifacts, data as ArtifactRequested) };
    default: {
      const artifacts = withArtifactResult(arch.artifacts, topic, data as ArtifactFinished | ArtifactFailed);
      return artifacts && { ...arch, artifacts };
    }
  }
}

/** Announces every stream of the compose that can be, refuses those that cannot, and keeps the rest waiting. */
function settle(context: ListenerContext, pungiComposeId: string, before: PungiCompose): Decision {
  const compose: PungiCompose = { ...before, announced: { ...before.announced }, refused: [...before.refused] };
  const decision = nothing();
  const status = compose.status;
  const missing: Array<{ stream: StreamConfig; why: string }> = [];
  for (const stream of status === null ? [] : streamsOfPungiCompose(context.config, pungiComposeId)) {
    if (compose.announced[stream.id]) continue;
    const arch = compose.arches[stream.id];
    if (status === 'DOOMED') {
      decision.emit.push(announce(pungiComposeId, stream, 'DOOMED', null, {}));
      compose.announced[stream.id] = 'DOOMED';
    } else if (arch?.state === 'verified' && artifactsBuilt(stream, arch)) {
      const built = composeStatus(arch.artifacts);
      const worst = SEVERITY[built] > SEVERITY[status!] ? built : status!;
      decision.emit.push(announce(pungiComposeId, stream, worst, arch.commit, arch.artifacts));
      compose.announced[stream.id] = worst;
    } else if ((!arch || arch.state === 'refused' || arch.state === 'unchanged') && !compose.refused.includes(stream.id)) {
      missing.push({ stream, why: whyMissing(stream, arch) });
      compose.refused.push(stream.id);
    } // else: its commit is still being looked for, or its artifacts built: wait
  }
  for (const [group, streams] of byGroup(missing.map((m) => m.stream))) {
    const reasons = missing.filter((m) => m.stream.group === group).map((m) => `${m.stream.arch}: ${m.why}`);
    const data: PromotionRefused = {
      group,
      version: pungiComposeId,
      reason: 'arch-missing',
      detail: `Pungi compose ${pungiComposeId} is ${status} without a usable commit for ${streams.map((s) => s.arch).join(', ')} (${reasons.join('; ')})`,
    };
    decision.emit.push({ topic: 'relengd.release.promotion.refused', key: `refused:${group}`, subject: group, data });
  }
  decision.patches.push(savePungiCompose(pungiComposeId, compose));
  return decision;
}

/** Every artifact the stream configures has a result. */
function artifactsBuilt(stream: StreamConfig, arch: PungiArch): boolean {
  return stream.artifacts.every((a) => arch.artifacts[a.name] !== undefined && arch.artifacts[a.name]!.state !== 'requested');
}

function whyMissing(stream: StreamConfig, arch: PungiArch | undefined): string {
  if (!arch) return `no pungi.compose.ostree for ${stream.ostree.ref} (variant ${stream.triggers.pungi!.variant})`;
  if (arch.state === 'unchanged') return `Pungi made no new commit for ${stream.ostree.ref}`;
  return arch.error ?? 'its commit was refused';
}

/** `compose.finished` of one stream, under Pungi's compose id, which is also the candidate's version. */
function announce(pungiComposeId: string, stream: StreamConfig, status: ComposeStatus, commit: string | null, artifacts: PungiArch['artifacts']): Emit {
  const data: ComposeFinished = {
    composeId: pungiComposeId,
    stream: stream.id,
    group: stream.group,
    arch: stream.arch,
    ref: stream.ostree.ref,
    commit,
    version: pungiComposeId,
    status,
    artifacts: Object.values(artifacts).flatMap((a) => (a.summary ? [a.summary] : [])),
  };
  return { topic: 'relengd.compose.finished', key: `${pungiComposeId}/${stream.id}`, subject: stream.ostree.ref, data };
}
