#!/usr/bin/env node
'use strict';
require('../dist/src/cli/mogilefsd.js').main(process.argv);
