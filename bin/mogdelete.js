#!/usr/bin/env node
'use strict';
// MogileFS-Utils' mogdelete, with its flags: the mogfs subcommand of that name.
require('../dist/src/cli/mogfs.js').runUtility('mogdelete', process.argv);
