/**
 * mogadm domain add|delete|list and class add|modify|delete|list. Both
 * lists print the same table (domain, class, mindevcount, replpolicy,
 * hashtype), as in the original.
 */
import type { DomainInfo } from '../../client';
import { byString, sprintf } from './format';
import { failWith, TEXT } from './session';
import type { Session } from './session';
import type { OptSpec, TopSpec, VerbInput } from './spec';

async function fetchDomains(s: Session): Promise<DomainInfo[]> {
  try {
    return await s.admin.getDomains();
  } catch (e) {
    failWith(TEXT.no_domains, e);
  }
}

async function list(s: Session): Promise<void> {
  const domains = (await fetchDomains(s)).sort((a, b) => byString(a.name, b.name));
  s.print(sprintf(' %-20s %-20s %-12s  %-12s %-7s\n', 'domain', 'class', 'mindevcount', 'replpolicy', 'hashtype'));
  s.print(sprintf('%-20s %-20s %-12s %-12s %-7s\n', '-'.repeat(20), '-'.repeat(20), '-'.repeat(13), '-'.repeat(12), '-'.repeat(7)));
  for (const d of domains) {
    for (const c of [...d.classes].sort((a, b) => byString(a.name, b.name))) {
      s.print(sprintf(' %-20s %-20s      %-8d %-13s %-7s\n', d.name, c.name, c.mindevcount || 0, c.replpolicy, c.hashtype));
    }
    s.line();
  }
  s.ok();
}

async function domainAdd(s: Session, { args }: VerbInput): Promise<void> {
  try {
    await s.admin.createDomain(args.domain);
  } catch (e) {
    failWith('Error creating domain', e);
  }
  s.ok('Domain created.');
}

async function domainDelete(s: Session, { args }: VerbInput): Promise<void> {
  try {
    await s.admin.deleteDomain(args.domain);
  } catch (e) {
    failWith('Error deleting domain', e);
  }
  s.ok('Domain deleted.');
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

async function classAdd(s: Session, { args, opts }: VerbInput): Promise<void> {
  try {
    await s.admin.createClass(args.domain, args.class, {
      // The original's default when --mindevcount is not given.
      mindevcount: typeof opts.mindevcount === 'number' && opts.mindevcount > 0 ? opts.mindevcount : 2,
      replpolicy: str(opts.replpolicy),
      hashtype: str(opts.hashtype),
    });
  } catch (e) {
    failWith('Error creating class', e);
  }
  s.ok('Class created.');
}

async function classModify(s: Session, { args, opts }: VerbInput): Promise<void> {
  let mindevcount = typeof opts.mindevcount === 'number' && opts.mindevcount > 0 ? opts.mindevcount : 0;
  if (!mindevcount) {
    // The original resets an unspecified mindevcount to 2; keeping the
    // class's current one is what `modify --hashtype=MD5` is meant to do.
    const domains = await s.admin.getDomains().catch(() => [] as DomainInfo[]);
    const cls = domains.find((d) => d.name === args.domain)?.classes.find((c) => c.name === args.class);
    mindevcount = cls && cls.mindevcount > 0 ? cls.mindevcount : 2;
  }
  try {
    await s.admin.updateClass(args.domain, args.class, { mindevcount, replpolicy: str(opts.replpolicy), hashtype: str(opts.hashtype) });
  } catch (e) {
    failWith('Error updating class', e);
  }
  s.ok('Class updated.');
}

async function classDelete(s: Session, { args }: VerbInput): Promise<void> {
  try {
    await s.admin.deleteClass(args.domain, args.class);
  } catch (e) {
    failWith('Error deleting class', e);
  }
  s.ok('Class deleted.');
}

export const domainCommand: TopSpec = {
  name: 'domain',
  des: 'Add/modify domains (namespaces)',
  verbs: {
    list: { des: 'List all domains and their classes.', run: list },
    add: { des: 'Add a domain (namespace)', args: [{ name: 'domain', des: 'Domain (namespace) to add.' }], run: domainAdd },
    delete: { des: 'Delete a domain.', args: [{ name: 'domain', des: 'Domain (namespace) to delete.' }], run: domainDelete },
  },
};

const CLASS_OPTS: OptSpec[] = [
  { name: 'mindevcount', type: 'int', des: 'Minimum number of replicas.' },
  { name: 'replpolicy', type: 'string', des: 'Replication policy string.' },
  { name: 'hashtype', type: 'string', des: "Hash algorithm string ('MD5', 'NONE')." },
];

export const classCommand: TopSpec = {
  name: 'class',
  des: 'Add/modify file classes.',
  verbs: {
    list: { des: 'List all classes, for each domain.', run: list },
    add: {
      des: 'Add a file class to a domain.',
      args: [
        { name: 'domain', des: 'Domain to add class to.' },
        { name: 'class', des: 'Name of class to add.' },
      ],
      opts: CLASS_OPTS,
      run: classAdd,
    },
    modify: {
      des: 'Modify properties of a file class.',
      args: [
        { name: 'domain', des: 'Domain of the class.' },
        { name: 'class', des: 'Name of class to modify.' },
      ],
      opts: CLASS_OPTS,
      run: classModify,
    },
    delete: {
      des: 'Delete a file class from a domain.',
      args: [
        { name: 'domain', des: 'Domain of class to delete.' },
        { name: 'class', des: 'Class to delete.' },
      ],
      run: classDelete,
    },
  },
};
