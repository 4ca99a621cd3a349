#!/usr/bin/env node
// Entry point of the built package (npm run build): dispatches to dist/cli.js.
import '../dist/cli.js';
