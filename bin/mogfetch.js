#!/usr/bin/env node
'use strict';
// MogileFS-Utils' mogfetch, with its flags: the mogfs subcommand of that name.
require('../dist/src/cli/mogfs.js').runUtility('mogfetch', process.argv);
