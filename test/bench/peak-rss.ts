import { readFileSync } from 'node:fs';

/**
 * Peak RSS of this process image (or of process `pid`), in MiB. Linux keeps `getrusage` maxrss
 * across exec, so a child spawned by a big parent would report the parent's size; VmHWM starts
 * afresh with the new image.
 */
export function peakRssMiB(pid: number | 'self' = 'self'): number {
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (hwm) return Number(hwm) / 1024;
  return pid === 'self' ? process.resourceUsage().maxRSS / 1024 : NaN;
}
