import type { Envelope } from '../../events/envelope.ts';
import type { ScheduleFired } from '../../events/relengd/schedule.ts';
import { nothing, type Decision, type Listener, type ListenerContext } from '../listener.ts';
import { requestComposes } from './compose-requests.ts';
import { groupSchedules } from './schedules.ts';

/**
 * A slot of a schedule came: compose the streams that share it (one version for the group), or
 * rebuild their installer and images from the current commit (the seed's daily two-week
 * artifacts). The streams are those configured now; a schedule since removed does nothing.
 */
export const scheduleFired: Listener = {
  name: 'schedule-fired',
  topics: ['relengd.schedule.fired'],
  handle(event: Envelope, { config, state }: ListenerContext): Decision {
    const fired = event.data as ScheduleFired;
    const schedule = groupSchedules(config).find((s) => s.key === fired.schedule);
    if (!schedule) return nothing();
    switch (schedule.action) {
      case 'compose':
        return requestComposes(event, schedule.streams, state);
      case 'artifacts':
        return requestComposes(event, [], state, schedule.streams);
    }
  },
};
