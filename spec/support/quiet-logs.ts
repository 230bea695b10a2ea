import log from 'loglevel';

// Loaded by .mocharc.json before any spec: the specs fail attempts on purpose by the thousand,
// so loggers start silent, and the runner (which sets the level from ERGON_LOG_LEVEL) keeps
// them so. Specs about logging set their own levels (configureLogging does), or the variable.
process.env['ERGON_LOG_LEVEL'] ??= 'silent';
log.setDefaultLevel('silent');
