#!/usr/bin/env node
'use strict';
// MogileFS-Utils' mogstats, with its flags: the mogfs subcommand of that name.
require('../dist/src/cli/mogfs.js').runUtility('mogstats', process.argv);
