import { pino, type Logger } from 'pino';

/**
 * A logger that keeps its records (parsed) for the test to look at: what the code under test logs
 * is an observable state a test can wait for (e.g. a failed reconnect attempt).
 */
export function captureLogger(level = 'debug'): { logger: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino({ level, base: undefined }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, records };
}
