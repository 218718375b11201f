// The network seam as the container lifecycle sees it: endpoint settings at create, a network
// namespace and addresses before the process starts, wiring after, release at exit. The bridge
// driver (networkService.ts) implements it; a fake does for tests above this seam.
import type { EndpointConfig, NetworkSettings } from '../../../common/models.ts';
import type { ContainerRecord } from '../containers/containerRecord.ts';

export interface NetworkPlan {
  netns: 'new' | 'host' | { join: string };
  /** environment of legacy links */
  env: string[];
  hosts: string;
  resolvConf: string;
  /** setup() must run once the process (and its namespace) exists */
  needsSetup: boolean;
}

export interface ContainerNetwork {
  /** The endpoint settings a new container gets (names checked, networks resolved). */
  settingsFor(mode: string, endpoints: Record<string, EndpointConfig | null> | null | undefined, hasPorts: boolean): { mode: string; settings: NetworkSettings };
  /** Before the process exists: addresses, hosts, resolv.conf and link environment. */
  prepare(r: ContainerRecord): Promise<NetworkPlan>;
  /** After the process exists: its interfaces, routes and published ports. */
  setup(r: ContainerRecord, pid: number): Promise<void>;
  /** At exit: addresses and published ports go back. */
  release(r: ContainerRecord): Promise<void>;
  /** At removal: nothing about the container is kept. */
  forget(r: ContainerRecord): void;
  /** After an engine restart, for a container still running: its published ports are served again. */
  recover(r: ContainerRecord): Promise<void>;
}
