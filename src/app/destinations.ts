import type { Config } from '../config/schema.ts';
import { createNetGuard, thisMachineAddresses, type NetGuard } from '../core/netguard.ts';

/**
 * The destination guard of this process (allowPrivateNetworks), shared by notifications and git fetches: this
 * machine's interface addresses and the address the server binds to count as its own and are refused like private ones.
 */
export function destinationGuard(config: Config): NetGuard {
  return createNetGuard({ allow: config.allowPrivateNetworks, ownAddresses: () => [...thisMachineAddresses(), config.host] });
}
