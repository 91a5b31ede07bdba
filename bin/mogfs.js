#!/usr/bin/env node
'use strict';
require('../dist/src/cli/mogfs.js').main(process.argv);
