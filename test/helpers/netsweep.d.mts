/** Removes the bridges, veths and tagged iptables rules of an engine root's networks; returns how many bridges. */
export function sweepNetworks(root: string): number;
