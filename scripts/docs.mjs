// Rewrites the README's generated sections (flags, labels, templates) from the registries.
import { readFileSync, writeFileSync } from 'node:fs';
import { withGeneratedSections } from '../dist/cli/docs.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, withGeneratedSections(readFileSync(path, 'utf8')));
