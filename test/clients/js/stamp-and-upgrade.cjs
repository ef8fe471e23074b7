// Drives the npm opentimestamps client against a calendar: stamp a random digest, then try to
// upgrade it. Prints one JSON line: the .ots bytes (hex) and what upgrade returned.
// usage: node stamp-and-upgrade.cjs CALENDAR_URL [OTS_HEX_TO_UPGRADE]
const crypto = require('node:crypto');
const OTS = require('opentimestamps');

async function main() {
  const [url, existing] = process.argv.slice(2);
  let detached;
  if (existing) {
    detached = OTS.DetachedTimestampFile.deserialize(Buffer.from(existing, 'hex'));
  } else {
    const digest = crypto.randomBytes(32);
    detached = OTS.DetachedTimestampFile.fromHash(new OTS.Ops.OpSHA256(), digest);
    await OTS.stamp(detached, { calendars: [url], m: 1 });
  }
  const stamped = Buffer.from(detached.serializeToBytes()).toString('hex');
  const upgraded = await OTS.upgrade(detached, { whitelist: new OTS.Calendar.UrlWhitelist([url]) });
  const after = Buffer.from(detached.serializeToBytes()).toString('hex');
  process.stdout.write(`${JSON.stringify({ stamped, upgraded, after })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
