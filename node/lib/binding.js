'use strict';

// Loads the native addon (node/build/uvws.node). npm runs node/build.js as
// the package's install script; npm 11 skips install scripts of dependencies
// that the project did not allow (allowScripts / --allow-scripts), so when the
// addon is missing it is built here, once, on first use.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ADDON = process.env.UVWS_ADDON_PATH || path.join(__dirname, '..', 'build', 'uvws.node');

function load() {
  if (fs.existsSync(ADDON)) return require(ADDON);
  if (process.env.UVWS_NO_LAZY_BUILD) {
    throw new Error(`uvws: the native addon ${ADDON} is not built; run \`npm rebuild uvws\` (or node node/build.js)`);
  }
  const build = path.join(__dirname, '..', 'build.js');
  const r = spawnSync(process.execPath, [build, '--quiet'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !fs.existsSync(ADDON)) {
    throw new Error(
      'uvws: the native addon is not built and building it failed ' +
        '(it needs a C/C++ compiler, Node.js headers and llhttp sources); ' +
        `see the messages above, or run \`node ${build}\``,
    );
  }
  return require(ADDON);
}

module.exports = load();
