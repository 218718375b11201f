// The fake backend keeps the engine's rules: it passes the same conformance suite.
import { backendConformance } from './backendConformance.ts';
import { FakeBackend } from './fakeBackend.ts';

backendConformance('fake', async () => ({ backend: new FakeBackend({ images: ['busybox:latest'] }), image: 'busybox', dispose: async () => undefined }));
