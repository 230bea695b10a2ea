import log from 'loglevel';

// Loaded by .mocharc.json before any spec: the engine logs every failed attempt, and the specs
// fail attempts on purpose by the thousand, so loggers start silent. Specs about logging set
// their own levels (configureLogging does).
log.setDefaultLevel('silent');
