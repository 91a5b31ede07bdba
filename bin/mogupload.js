#!/usr/bin/env node
'use strict';
// MogileFS-Utils' mogupload, with its flags: the mogfs subcommand of that name.
require('../dist/src/cli/mogfs.js').runUtility('mogupload', process.argv);
