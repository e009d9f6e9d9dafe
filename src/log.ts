import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  level?: string | undefined;
  /** 1 = stdout (the daemon), 2 = stderr (commands whose stdout is data). */
  fd?: 1 | 2 | undefined;
  /** Human-readable lines; defaults to whether the destination is a terminal. */
  pretty?: boolean | undefined;
}

/**
 * JSON lines for machines, pretty lines for people at a terminal. Components log through
 * `logger.child({ component })`; lines about an event carry `msgId` and `correlationId`.
 */
export function createLogger(options: LogOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const pretty = options.pretty ?? Boolean((fd === 1 ? process.stdout : process.stderr).isTTY);
  const level = options.level ?? 'info';
  if (pretty) {
    return pino({ level, base: undefined }, pino.transport({ target: 'pino-pretty', options: { destination: fd, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }));
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: fd, sync: fd === 2 }));
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Fields that tie a log line to an event. */
export function eventFields(e: { id: string; topic: string; correlationid: string }): Record<string, string> {
  return { msgId: e.id, topic: e.topic, correlationId: e.correlationid };
}
