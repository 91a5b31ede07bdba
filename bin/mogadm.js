#!/usr/bin/env node
'use strict';
require('../dist/src/cli/mogadm.js').main(process.argv);
