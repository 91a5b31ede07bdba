/**
 * Which domain (and key prefix in it) a URL is in: the nginx-mogilefs-module's
 * `location /images/ { mogilefs_domain ...; }` as `--route` specs, and the
 * URL path split into the names the mount shows. URL paths are
 * percent-decoded one segment at a time, so `%2F` can never smuggle a `/`
 * into a name, and `.`/`..` segments are refused rather than resolved.
 */
import { normalizeBase } from '../vfs';

export interface Route {
  /** URL path segments the route answers under ([] for '/'). */
  at: string[];
  /** The domain; null for every domain as the first segment after `at`. */
  domain: string | null;
  /** Key prefix inside the domain ('' or ending in '/'). */
  keyPrefix: string;
  /** PUT and DELETE allowed. */
  writable: boolean;
}

export class RouteError extends Error {}

function segmentsOf(urlPrefix: string): string[] {
  return urlPrefix.split('/').filter((s) => s !== '');
}

/**
 * `URLPREFIX=DOMAIN[:KEYPREFIX][,rw|,ro]`, e.g. `/images=photos:img/,ro`;
 * DOMAIN `*` is every domain as the first segment after URLPREFIX. Without
 * `,rw`/`,ro` the route is writable when `writable` says so (--writable).
 */
export function parseRoute(spec: string, writable = false): Route {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new RouteError(`route "${spec}" needs the form /urlprefix=domain[:keyprefix][,rw]`);
  const urlPrefix = spec.slice(0, eq);
  let target = spec.slice(eq + 1);
  if (!urlPrefix.startsWith('/')) throw new RouteError(`route "${spec}": the URL prefix must start with "/"`);
  let rw = writable;
  const flag = /,(rw|ro)$/.exec(target);
  if (flag) {
    rw = flag[1] === 'rw';
    target = target.slice(0, flag.index);
  }
  const colon = target.indexOf(':');
  const domain = colon < 0 ? target : target.slice(0, colon);
  const keyPrefix = colon < 0 ? '' : target.slice(colon + 1);
  if (domain === '') throw new RouteError(`route "${spec}" names no domain (use * for every domain)`);
  if (domain === '*' && keyPrefix !== '') throw new RouteError(`route "${spec}": a key prefix needs one domain, not *`);
  const at = segmentsOf(urlPrefix);
  if (at.some((s) => s === '.' || s === '..')) throw new RouteError(`route "${spec}": no "." or ".." in the URL prefix`);
  return { at, domain: domain === '*' ? null : domain, keyPrefix: normalizeBase(keyPrefix), writable: rw };
}

/** The routes for --domain/--prefix alone: one at '/', or every domain as the first segment. */
export function defaultRoute(domain: string | undefined, prefix: string | undefined, writable: boolean): Route {
  if (!domain && prefix) throw new RouteError('--prefix needs --domain (or use --route /url=domain:prefix)');
  return { at: [], domain: domain ?? null, keyPrefix: normalizeBase(prefix), writable };
}

export { urlSegments } from '../common/http';

export interface Routed {
  route: Route;
  /** The domain the URL is in (from the route, or the first segment for an every-domain route); null when it names none. */
  domain: string | null;
  /** What is left of the URL, as segments of the name the mount shows. */
  rest: string[];
}

/** Routes sorted longest prefix first, so `/img/thumbs` wins over `/img`. */
export function sortRoutes(routes: Route[]): Route[] {
  return [...routes].sort((a, b) => b.at.length - a.at.length);
}

export function matchRoute(sorted: Route[], segs: string[]): Routed | null {
  for (const route of sorted) {
    if (route.at.length > segs.length || !route.at.every((s, i) => segs[i] === s)) continue;
    const rest = segs.slice(route.at.length);
    if (route.domain !== null) return { route, domain: route.domain, rest };
    return { route, domain: rest.length > 0 ? rest[0] : null, rest: rest.slice(1) };
  }
  return null;
}
