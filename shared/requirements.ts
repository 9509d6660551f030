// Does a contributor's machine meet a job's requirements? The answer comes with the reason in words.
import type { Requirements } from './job-file.js';
import type { Capabilities } from './protocol.js';

/** null when `caps` can run the job, else why not (e.g. "platform=win32"). */
export function mismatch(
  req: Requirements,
  runtime: 'node' | 'command',
  caps: Capabilities,
  network = false,
): string | null {
  if (!caps.runtimes.includes(runtime))
    return runtime === 'command' ? 'commands allowed' : `runtime ${runtime}`;
  if (req.platforms && !req.platforms.includes(caps.platform))
    return `platform=${req.platforms.join('|')}`;
  if (req.arch && !req.arch.includes(caps.arch)) return `arch=${req.arch.join('|')}`;
  if (req.minMemoryMb !== undefined && caps.memoryMb < req.minMemoryMb)
    return `memory>=${req.minMemoryMb} MB`;
  if (req.minCores !== undefined && caps.cores < req.minCores) return `cores>=${req.minCores}`;
  const missing = (req.tags ?? []).filter((t) => !caps.tags.includes(t));
  if (missing.length > 0) return `tags ${missing.join(', ')}`;
  if (req.isolation === 'sandbox' && caps.isolation !== 'sandbox')
    return 'isolation=sandbox (an operating-system sandbox)';
  if (network && caps.network !== true) return 'network allowed (--allow-network)';
  return null;
}
