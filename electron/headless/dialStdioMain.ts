// `berth system dial-stdio` on its own: a small bundle (dist/headless/dialStdio.js) that
// bin/berth.mjs runs without loading the whole CLI, because ssh starts it once per connection
// and the docker CLI opens several connections per command. Only an entry: nothing imports it.
import { dialCommand, ownSocket } from './dialStdio.ts';

void dialCommand(process.argv.slice(4), ownSocket()).then((code) => process.exit(code));
