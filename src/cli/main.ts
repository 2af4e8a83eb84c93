#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { errorLine } from '../errors.js';
import { heapIsOurs } from '../io/heap.js';
import { main } from './app.js';

heapIsOurs();

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`mlb-ts: ${errorLine(e)}\n`);
    process.exitCode = 1;
  },
);
