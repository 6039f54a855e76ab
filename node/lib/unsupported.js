'use strict';

// Features of ws that the uvws engine cannot offer (yet) throw this error, so
// that code written for ws fails loudly instead of behaving differently.
// README.md lists them.
function unsupported(feature, hint) {
  const err = new Error(`uvws does not support ${feature}${hint ? ` (${hint})` : ''}`);
  err.code = 'ERR_UVWS_UNSUPPORTED';
  throw err;
}

module.exports = { unsupported };
