// Checks each line of a JSON-lines file (argv[2]) with the CloudEvents JavaScript SDK, which
// validates against the CloudEvents 1.0 JSON schema (attribute types and formats: source a
// URI-reference, time RFC 3339, specversion 1.0, extension names). The SDK fills in a missing id
// or time, so the required attributes are first checked on the raw JSON: present, strings, not
// empty. Prints "ok N", or the first line that is not a valid CloudEvent and exits 1.
'use strict';
const fs = require('fs');
const { CloudEvent } = require('cloudevents');

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.length > 0);
let n = 0;
for (const line of lines) {
  let ev;
  try {
    const raw = JSON.parse(line);
    for (const a of ['specversion', 'id', 'source', 'type']) {
      if (typeof raw[a] !== 'string' || raw[a].length === 0) throw new Error('required attribute ' + a + ' missing or empty');
    }
    ev = new CloudEvent(raw, true);
    if (ev.id !== raw.id || ev.time !== raw.time) throw new Error('the SDK changed id or time');
    if (ev.specversion !== '1.0') throw new Error('specversion ' + ev.specversion);
  } catch (e) {
    const why = e.errors ? JSON.stringify(e.errors) : String(e.message || e);
    console.log('invalid event at line ' + (n + 1) + ': ' + why + '\n' + line);
    process.exit(1);
  }
  n++;
}
console.log('ok ' + n);
