import type { DaemonProcess } from '../../helpers/process.ts';

/**
 * Sends SIGTERM, as systemd, the kubelet and compose stop relengd, and resolves with the exit code;
 * rejects if the process is still running when the platform would kill it (`graceMs`, the deadline).
 */
export async function stopsOnSigterm(daemon: DaemonProcess, graceMs: number): Promise<number | null> {
  daemon.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killedAt = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`relengd still running ${graceMs} ms after SIGTERM: it would be killed`)), graceMs);
  });
  try {
    return await Promise.race([daemon.exited, killedAt]);
  } finally {
    clearTimeout(timer);
  }
}
