#!/usr/bin/env node
'use strict';
// MogileFS-Utils' mogfileinfo, with its flags: the mogfs subcommand of that name.
require('../dist/src/cli/mogfs.js').runUtility('mogfileinfo', process.argv);
