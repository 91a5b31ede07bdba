#!/usr/bin/env node
'use strict';
// MogileFS-Utils' moglistfids, with its flags: the mogfs subcommand of that name.
require('../dist/src/cli/mogfs.js').runUtility('moglistfids', process.argv);
