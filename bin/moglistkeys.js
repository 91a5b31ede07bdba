#!/usr/bin/env node
'use strict';
// MogileFS-Utils' moglistkeys, with its flags: the mogfs subcommand of that name.
require('../dist/src/cli/mogfs.js').runUtility('moglistkeys', process.argv);
