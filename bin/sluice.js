#!/usr/bin/env node
// The `sluice` command: runs the compiled CLI (`npm run build` writes dist/).
import '../dist/cli/run.js'
