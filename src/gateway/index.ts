// The short-URL gateway, an adapter beside fuse/ over the same names: what
// the nginx-mogilefs-module did for MogileFS sites (URL prefix -> domain and
// key prefix, GET/HEAD/Range from the first replica that answers, optional
// PUT/DELETE, an X-Accel-Redirect mode for nginx), plus the status page.
export { startGateway, STATUS_DIR } from './server';
export type { Gateway, GatewayOptions } from './server';
export { defaultRoute, parseRoute, RouteError } from './routes';
export type { Route } from './routes';
