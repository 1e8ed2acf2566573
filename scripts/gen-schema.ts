#!/usr/bin/env node
// Regenerates schemas/extra-vars.schema.json from the Kconfig tree and the
// choice constants (a test fails when the committed copy is stale).
import { buildSchema, readKconfigTree, SCHEMA_FILE } from './lib/config/index.js';
import { parseCli, runMain } from './lib/cli.js';
import { writeFileAtomic } from './lib/atomic-write.js';

runMain(async () => {
  parseCli('usage: gen-schema\n\nWrites schemas/extra-vars.schema.json from Kconfig.', {});
  await writeFileAtomic(SCHEMA_FILE, JSON.stringify(buildSchema(readKconfigTree('Kconfig')), null, 2) + '\n');
  console.log(`wrote ${SCHEMA_FILE}`);
});
