#!/usr/bin/env node
'use strict';
require('../dist/src/cli/mogstored.js').main(process.argv);
