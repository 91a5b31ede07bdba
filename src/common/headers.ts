/**
 * HTTP headers our storage node and tracker use to talk to each other beyond
 * what stock MogileFS knows; stock peers never send them and ignore them.
 */

/**
 * Sent by mogstored with the usage file the tracker's monitor reads every
 * round: the port of its side channel, so our tracker can ask file sizes
 * there (one stat, one line) rather than over HTTP, as the original's tracker
 * asks on its configured mogstored_stream_port.
 */
export const SIDECHANNEL_HEADER = 'x-mogfs-sidechannel-port';
