// Container networking without namespaces or bridges: every container gets an empty network
// namespace, its hosts file and nothing to set up. Records what the lifecycle asked for.
import type { ContainerNetwork, NetworkPlan } from '../network/containerNetwork.ts';
import type { ContainerRecord } from '../containers/containerRecord.ts';

export class FakeNetwork implements ContainerNetwork {
  readonly calls: string[] = [];

  settingsFor(mode: string) {
    return { mode: mode === 'default' ? 'bridge' : mode, settings: { Networks: {}, Ports: {}, SandboxKey: '' } };
  }

  async prepare(r: ContainerRecord): Promise<NetworkPlan> {
    this.calls.push(`prepare ${r.Id.slice(0, 12)}`);
    return { netns: 'new', env: [], hosts: `127.0.0.1\tlocalhost\n`, resolvConf: '', needsSetup: false };
  }

  async setup(r: ContainerRecord): Promise<void> {
    this.calls.push(`setup ${r.Id.slice(0, 12)}`);
  }

  async release(r: ContainerRecord): Promise<void> {
    this.calls.push(`release ${r.Id.slice(0, 12)}`);
  }

  forget(r: ContainerRecord): void {
    this.calls.push(`forget ${r.Id.slice(0, 12)}`);
  }

  async recover(r: ContainerRecord): Promise<void> {
    this.calls.push(`recover ${r.Id.slice(0, 12)}`);
  }
}
