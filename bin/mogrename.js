#!/usr/bin/env node
'use strict';
// MogileFS-Utils' mogrename, with its flags: the mogfs subcommand of that name.
require('../dist/src/cli/mogfs.js').runUtility('mogrename', process.argv);
