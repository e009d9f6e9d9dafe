import { readFileSync } from 'node:fs';

/**
 * Peak RSS of this process image, in MiB. Linux keeps `getrusage` maxrss across exec, so a child
 * spawned by a big parent would report the parent's size; VmHWM starts afresh with the new image.
 */
export function peakRssMiB(): number {
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return (hwm ? Number(hwm) : process.resourceUsage().maxRSS) / 1024;
}
