// The MogileFS tracker wire protocol: line codec and typed errors.
// Shared by the tracker (server side) and the client (client side).
export * from './codec';
export * from './errors';
export * from './limits';
