#!/usr/bin/env node
// The installed command; the compiled CLI lives in dist/ (built by `npm run build`).
import '../dist/cli/main.js';
