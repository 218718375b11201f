// A separate process that pulls one image into a store, so a test can SIGKILL it mid-pull.
import { CredentialStore } from '../../electron/engine/images/distribution/credentials.ts';
import { pullImage } from '../../electron/engine/images/distribution/pull.ts';
import { RegistryClient } from '../../electron/engine/images/distribution/registryClient.ts';
import { LocalImageStore } from '../../electron/engine/images/localImageStore.ts';

const [root, ref] = process.argv.slice(2);
const store = new LocalImageStore(root);
const client = new RegistryClient({ credentials: new CredentialStore(`${root}/auth.json`) });
const img = await pullImage(store, client, ref, { onProgress: (m) => process.stdout.write(`${JSON.stringify(m)}\n`) });
process.stdout.write(`done ${img.id}\n`);
await store.close();
if (process.env.BERTH_REPORT_RSS) {
  const status = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
  process.stdout.write(`rss ${/VmHWM:\s+(\d+)/.exec(status)?.[1]} ${/VmRSS:\s+(\d+)/.exec(status)?.[1]}\n`);
}
