/**
 * A Kafka cluster for the tests: librdkafka's mock cluster (mock-cluster.c beside this file, built
 * on demand by build.ts). Each test file starts its own cluster (3 brokers on loopback, in one
 * process that dies with the test's stdin pipe), so nothing is shared between files.
 *
 * Cannot build or start it: the Kafka tests skip and say why, except under CI=true, where they fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { buildMockCluster } from './build.ts';

const isCi = process.env.CI === 'true';

export interface MockCluster {
  /** `host:port` of each broker. */
  brokers: string[];
  /**
   * The next requests of Kafka API `apiKey` (any broker, any client) are answered with these
   * Kafka error codes, one request each, in order; resolves once the cluster took them.
   */
  failRequests(apiKey: number, errorCodes: readonly number[]): Promise<void>;
  /** Stops the cluster (closes its stdin; SIGKILL if it does not exit within 5 s). */
  stop(): Promise<void>;
}

/** Kafka API keys, for `failRequests`. */
export const KafkaApi = { joinGroup: 11, heartbeat: 12, syncGroup: 14 } as const;

/** Starts a cluster; `topics` are created first (`name` or `name:partitions`, 3 partitions by default). */
export async function startMockCluster(options: { brokers?: number; topics?: readonly string[] } = {}): Promise<MockCluster> {
  const binary = await buildMockCluster();
  const child = spawn(binary, ['--brokers', String(options.brokers ?? 3), ...(options.topics ?? [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  // Its stdout: the bootstrap line, then one answer per command.
  const lines = createInterface({ input: child.stdout! });
  const answers: Array<(line: string) => void> = [];
  const line = await new Promise<string>((resolveLine, reject) => {
    const timer = setTimeout(() => fail(new Error('the mock cluster printed no bootstrap line within 10 s')), 10_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      lines.close();
      child.kill('SIGKILL');
      reject(new Error(`${error.message}${stderr ? `; stderr: ${stderr.trim()}` : ''}`));
    };
    lines.once('line', (text) => {
      clearTimeout(timer);
      child.off('exit', onEarlyExit);
      lines.on('line', (answer) => answers.shift()?.(answer.trim()));
      resolveLine(text.trim());
    });
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(new Error(`the mock cluster exited (${signal ?? code}) before it was up`));
    child.once('error', fail);
    child.once('exit', onEarlyExit);
  });
  const command = (text: string): Promise<void> =>
    new Promise((resolveCommand, reject) => {
      answers.push((answer) => (answer === 'ok' ? resolveCommand() : reject(new Error(`mock cluster: ${text}: ${answer}`))));
      child.stdin!.write(`${text}\n`);
    });
  return {
    brokers: line.split(',').filter(Boolean),
    failRequests: (apiKey, errorCodes) => command(`request-errors ${apiKey} ${errorCodes.join(' ')}`),
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Null when the mock cluster builds and starts, else why not (probed once per test file). */
async function probe(): Promise<string | null> {
  try {
    const cluster = await startMockCluster({ brokers: 1 });
    await cluster.stop();
    return null;
  } catch (error) {
    return `no Kafka mock cluster (${(error as Error).message})`;
  }
}

export const kafkaMissingReason: string | null = await probe();
if (kafkaMissingReason !== null && isCi) throw new Error(`CI=true but ${kafkaMissingReason}`);
if (kafkaMissingReason !== null) console.warn(`skipping Kafka tests: ${kafkaMissingReason}`);

/** A describe title that says why it is skipped. */
export function titled(title: string, missing: string | null = kafkaMissingReason): string {
  return missing === null ? title : `${title} (skipped: ${missing})`;
}
