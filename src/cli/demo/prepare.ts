import { writeFileSync } from 'node:fs';
import type { EnvelopeInput } from '../../events/envelope.ts';
import type { DemoStep } from './scenario.ts';
import { pungiOstreePhase } from './standin-pungi.ts';

/**
 * Does what the world did before a step's message (Bodhi wrote the updates repo, Pungi's ostree
 * phase committed), and gives the message as it then reads: a Pungi message names the commit made.
 */
export async function prepareStep(step: DemoStep): Promise<EnvelopeInput> {
  if (step.prepare) writeFileSync(step.prepare.file, `${JSON.stringify(step.prepare.content, null, 2)}\n`);
  if (!step.pungiCommit) return step.message;
  const commitid = await pungiOstreePhase(step.pungiCommit);
  return { ...step.message, data: { ...(step.message.data as Record<string, unknown>), commitid } };
}
