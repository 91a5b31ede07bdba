/**
 * Plain file descriptors through fs callbacks: one promise per trip to the
 * thread pool and no FileHandle object to track and close, for the node's
 * per-request file work (GET, PUT).
 */
import { open, close, fstat, type Stats } from 'node:fs';

/** open(2); `mode` applies when O_CREAT creates the file. */
export function openFd(p: string, flags: number, mode = 0o644): Promise<number> {
  return new Promise((resolve, reject) => open(p, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}

export function fstatFd(fd: number): Promise<Stats> {
  return new Promise((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}
