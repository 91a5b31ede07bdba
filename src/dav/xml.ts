/**
 * The XML WebDAV bodies carry, namespace-aware (sax with xmlns): elements
 * are (namespace, local name) pairs, so a dead property `{urn:x}w` stays
 * itself. Dead property values are kept as their XML text, re-declaring
 * every namespace they use, so they read back exactly as they were set.
 */
import sax from 'sax';

export interface XNode {
  ns: string;
  local: string;
  /** Attributes by their qualified name as written (xmlns declarations included). */
  attrs: Record<string, string>;
  children: XNode[];
  text: string;
  /** This element's XML, self-contained (its namespaces declared). */
  xml: string;
}

export class XmlError extends Error {}

/** Most bytes of an XML request body we read (PROPFIND, PROPPATCH, LOCK). */
export const MAX_XML_BODY = 1 << 20;

export function parseXml(text: string): XNode {
  const parser = sax.parser(true, { xmlns: true, position: false });
  const stack: { node: XNode; parts: string[] }[] = [];
  let root: XNode | null = null;
  parser.onerror = (e) => { throw new XmlError(`malformed XML: ${e.message.split('\n')[0]}`); };
  parser.onopentag = (t) => {
    const tag = t as sax.QualifiedTag;
    const node: XNode = { ns: tag.uri ?? '', local: tag.local ?? tag.name, attrs: {}, children: [], text: '', xml: '' };
    for (const [k, a] of Object.entries(tag.attributes)) node.attrs[k] = (a as sax.QualifiedAttribute).value;
    const parent = stack[stack.length - 1];
    // Inside its ancestors' XML the element reads as written; its own XML
    // declares every namespace in scope, so it stands alone.
    const inScope: Record<string, string> = {};
    for (let o: object | null = tag.ns; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
      for (const [p, u] of Object.entries(o)) if (!(p in inScope)) inScope[p] = String(u);
    }
    const all = Object.entries(tag.attributes).map(([k, a]) => [k, (a as sax.QualifiedAttribute).value] as const);
    const asWritten = all.map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
    const plain = all.filter(([k]) => k !== 'xmlns' && !k.startsWith('xmlns:')).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
    const nsDecl = Object.entries(inScope).filter(([p]) => p !== 'xml' && p !== 'xmlns')
      .map(([p, u]) => (p === '' ? ` xmlns="${esc(u)}"` : ` xmlns:${p}="${esc(u)}"`)).join('');
    for (const s of stack) s.parts.push(`<${tag.name}${asWritten}>`);
    if (parent) parent.node.children.push(node);
    else root = node;
    stack.push({ node, parts: [`<${tag.name}${nsDecl}${plain}>`] });
  };
  parser.ontext = (t) => {
    const top = stack[stack.length - 1];
    if (!top) return;
    top.node.text += t;
    for (const s of stack) s.parts.push(esc(t));
  };
  parser.oncdata = (t) => parser.ontext(t);
  parser.onclosetag = (name) => {
    const done = stack.pop();
    if (!done) return;
    for (const s of stack) s.parts.push(`</${name}>`);
    done.parts.push(`</${name}>`);
    done.node.xml = done.parts.join('');
  };
  try {
    parser.write(text).close();
  } catch (e) {
    throw e instanceof XmlError ? e : new XmlError(`malformed XML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!root) throw new XmlError('no XML element in the body');
  return root;
}

export function child(n: XNode, ns: string, local: string): XNode | undefined {
  return n.children.find((c) => c.ns === ns && c.local === local);
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `{ns}local`: how a property is named in our attribute table and in code. */
export function clark(ns: string, local: string): string {
  return `{${ns}}${local}`;
}

/** An empty element naming property `{ns}local`, for propstat lists. */
export function emptyElement(ns: string, local: string): string {
  if (ns === 'DAV:') return `<D:${local}/>`;
  return ns === '' ? `<${local} xmlns=""/>` : `<${local} xmlns="${esc(ns)}"/>`;
}
