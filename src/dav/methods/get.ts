/**
 * GET and HEAD: a file streamed from the storage nodes; a Range read as that
 * range (one GET from the storage node starting at the offset, not from byte
 * 0); ETag, Last-Modified and conditional requests; a collection as a small
 * HTML index, for browsers.
 */
import { pipeline } from 'node:stream/promises';
import type { Stat } from '../../vfs';
import { httpConditions, ifHolds } from '../conditions';
import { contentTypeOf } from '../../common/http';
import type { DavRequest } from '../request';
import { HttpError } from '../request';
import { etagOf, httpDate, isDirStat } from '../stat';
import { VfsReadStream } from '../streams';
import { esc } from '../xml';

/** One byte range [start, end] of a `size`-byte file, or 'unsatisfiable', or null (serve it all). */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or a unit we do not know: the whole file is a valid answer.
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export async function get(r: DavRequest): Promise<void> {
  const first = await r.env.vfs.getattr(r.path);
  if (!(await ifHolds(r))) throw new HttpError(412, 'the If header does not hold');
  if (isDirStat(first)) {
    await answer(r, first, null);
    return;
  }
  // The headers and the bytes come from one open handle: one version of the file.
  const fh = await r.env.vfs.open(r.path, 0);
  let body: VfsReadStream | null = null;
  try {
    body = await answer(r, await r.env.vfs.fgetattr(fh), fh);
  } finally {
    if (!body) await r.env.vfs.release(fh);
  }
  if (!body) return;
  // A client that goes away ends the pipeline with an error: the read stream is released either way.
  await pipeline(body, r.res).catch((e: unknown) => {
    if (!r.res.writableFinished) r.env.log.debug({ path: r.path, err: (e as Error).message }, 'GET ended early');
  });
}

/** Answers with the headers; resolves to the body still to send, if any. */
async function answer(r: DavRequest, s: Stat, fh: number | null): Promise<VfsReadStream | null> {
  const cond = httpConditions(r, s, true);
  const common: Record<string, string> = { ETag: etagOf(s), 'Last-Modified': httpDate(s) };
  if (cond === 'failed') throw new HttpError(412, 'precondition failed');
  if (cond === 'not-modified') {
    r.res.writeHead(304, common);
    r.res.end();
    return null;
  }
  if (fh === null) {
    await index(r, s);
    return null;
  }
  let range = r.header('range') ? parseRange(r.header('range'), s.size) : null;
  const ifRange = r.header('if-range');
  if (range && ifRange && ifRange !== common.ETag && ifRange !== common['Last-Modified']) range = null;
  if (range === 'unsatisfiable') {
    r.res.writeHead(416, { ...common, 'Content-Range': `bytes */${s.size}`, 'Content-Length': 0 });
    r.res.end();
    return null;
  }
  const start = range ? range.start : 0;
  const end = range ? range.end + 1 : s.size;
  r.res.writeHead(range ? 206 : 200, {
    ...common,
    'Content-Type': contentTypeOf(r.path),
    'Content-Length': String(end - start),
    'Accept-Ranges': 'bytes',
    ...(range ? { 'Content-Range': `bytes ${start}-${end - 1}/${s.size}` } : {}),
  });
  if (r.req.method === 'HEAD' || end === start) {
    r.res.end();
    return null;
  }
  return VfsReadStream.over(r.env.vfs, fh, start, end);
}

async function index(r: DavRequest, s: Stat): Promise<void> {
  const entries = await r.env.vfs.readdir(r.path);
  const rows = entries
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => {
      const dir = isDirStat(e.stat);
      const href = r.href(r.path === '/' ? `/${e.name}` : `${r.path}/${e.name}`, dir);
      return `<li><a href="${esc(href)}">${esc(e.name)}${dir ? '/' : ''}</a>${dir ? '' : ` <small>${e.stat.size} bytes</small>`}</li>`;
    }).join('\n');
  const title = esc(r.path);
  r.res.setHeader('ETag', etagOf(s));
  r.send(200, `<!doctype html>\n<meta charset="utf-8"><meta name="viewport" content="width=device-width">\n<title>${title}</title>\n<h1>${title}</h1>\n<ul>\n${rows}\n</ul>\n`, 'text/html; charset=utf-8');
}
