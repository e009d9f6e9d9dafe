import type { Envelope } from '../../events/envelope.ts';
import type { ComposeRequest } from '../../events/relengd/compose-command.ts';
import { nothing, type Decision, type Listener, type ListenerContext } from '../listener.ts';
import { requestComposes } from './compose-requests.ts';
import { streamById, streamsOfGroup } from './streams.ts';

/**
 * `relengd compose`: a compose of a stream (or of each stream of a group) as if its trigger had
 * fired. The request joins the compose queue like any trigger (a compose in flight gets it as its
 * follow-up); the command event, with who asked, is the cause the compose records.
 */
export const composeCommand: Listener = {
  name: 'compose-command',
  topics: ['relengd.compose.request'],
  handle(event: Envelope, { config, state }: ListenerContext): Decision {
    const request = event.data as ComposeRequest;
    const streams = request.stream !== undefined ? [streamById(config, request.stream)].filter((s) => s !== undefined) : streamsOfGroup(config, request.group!);
    // A stream or group that left the configuration: nothing to compose (the CLI checks before sending).
    return streams.length > 0 ? requestComposes(event, streams, state) : nothing();
  },
};
