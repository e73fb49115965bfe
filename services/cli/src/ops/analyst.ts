import { randomBytes } from 'node:crypto';
import { ValidationError } from '@konstruct/core';
import { allOpsSubject, allTenantsSubject, type Topology, tenantWildcard } from '@konstruct/names';
import { nkeys } from '@nats-io/transport-node';

/** How the analyst proves who they are: an nkey (the server keeps only the public key) or a password. */
export type AnalystAuth =
  | { kind: 'nkey'; publicKey: string; seed: string }
  | { kind: 'password'; password: string };

/** Subject permissions of one nats-server user. */
export interface Permissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
}

/** Everything an analyst grant consists of. */
export interface AnalystGrant {
  tenant: { id: string; slug: string };
  user: string;
  /** The one durable consumer on the events stream the analyst may create, read, ack and delete. */
  consumer: string;
  stream: string;
  /** The tenant's subjects, live and in the stream. */
  subjects: string;
  /** The analyst's private reply prefix; clients must set it (nats CLI `--inbox-prefix`, nats.js `inboxPrefix`). */
  inboxPrefix: string;
  /** True when ops made the consumer at grant time and the analyst may only read it. */
  managed: boolean;
  auth: AnalystAuth;
  permissions: Permissions;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * The permissions of an analyst of one tenant on nats-server 2.9, within the platform's account:
 * - subscribe to `tenant.<id>.>` (live) and to replies on a private inbox prefix (a shared `_INBOX.>` would let
 *   them read the replies and pull deliveries of every other client, other tenants' events included);
 * - create their own named consumer on the events stream only through the 2.9 API subject that carries the
 *   filter (`$JS.API.CONSUMER.CREATE.<stream>.<consumer>.<filter>`): the server refuses a filter that differs
 *   from the subject's, and the permission admits only filters inside `tenant.<id>.>`;
 * - read that consumer's info, pull from it, ack it, and delete it to start over;
 * - `$JS.API.INFO`, which client libraries ask at connect (account totals, no tenant's data).
 * Nothing else: no stream API at all (stream info could list other tenants' subjects), no other consumer, no
 * legacy create subjects without the filter, no publishing on `tenant.>` or `ops.>`.
 */
export function analystPermissions(
  topology: Topology,
  tenantId: string,
  consumer: string,
  inboxPrefix: string,
  { managed = false }: { managed?: boolean } = {},
): Permissions {
  const stream = topology.streams.events;
  const subjects = tenantWildcard(topology, tenantId);
  // a managed consumer is made by ops at grant time: the analyst cannot (re)define it, so cannot point a push
  // delivery subject anywhere either
  const manage = managed
    ? []
    : [
        `$JS.API.CONSUMER.CREATE.${stream}.${consumer}.${subjects}`,
        `$JS.API.CONSUMER.DELETE.${stream}.${consumer}`,
      ];
  return {
    publish: {
      allow: [
        '$JS.API.INFO',
        ...manage,
        `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
        `$JS.ACK.${stream}.${consumer}.>`,
      ],
      deny: [
        allTenantsSubject(topology),
        allOpsSubject(topology),
        '$JS.API.STREAM.>',
        '$JS.API.CONSUMER.DURABLE.>',
      ],
    },
    subscribe: {
      allow: [subjects, `${inboxPrefix}.>`],
      deny: [],
    },
  };
}

/** Makes a grant's name and credentials; `user` defaults to `analyst-<slug>`. */
export function makeGrant(
  topology: Topology,
  tenant: { id: string; slug: string },
  options: { user?: string; auth?: 'nkey' | 'password'; managed?: boolean } = {},
): AnalystGrant {
  const user = options.user ?? `analyst-${tenant.slug}`;
  if (!NAME.test(user)) {
    throw new ValidationError(
      `--user: a user name is 1–64 lowercase letters, digits, "-" or "_", starting with a letter or digit; got "${user}"`,
    );
  }
  const consumer = user.replaceAll('-', '_');
  const inboxPrefix = `_INBOX_${consumer}`;
  let auth: AnalystAuth;
  if ((options.auth ?? 'nkey') === 'nkey') {
    const pair = nkeys.createUser();
    auth = { kind: 'nkey', publicKey: pair.getPublicKey(), seed: new TextDecoder().decode(pair.getSeed()) };
  } else {
    auth = { kind: 'password', password: randomBytes(24).toString('base64url') };
  }
  return {
    tenant,
    user,
    consumer,
    stream: topology.streams.events,
    subjects: tenantWildcard(topology, tenant.id),
    inboxPrefix,
    auth,
    managed: options.managed ?? false,
    permissions: analystPermissions(topology, tenant.id, consumer, inboxPrefix, { managed: options.managed }),
  };
}

function list(values: string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
}

/** The grant's entry for the `users` list of the server's `authorization` block (nats-server config syntax). */
export function userEntry(grant: AnalystGrant): string {
  const identity =
    grant.auth.kind === 'nkey'
      ? `nkey: ${JSON.stringify(grant.auth.publicKey)}`
      : `user: ${JSON.stringify(grant.user)}, password: ${JSON.stringify(grant.auth.password)}`;
  const p = grant.permissions;
  return [
    `# analyst ${grant.user}: tenant ${grant.tenant.slug} (${grant.tenant.id}), read-only, own consumer ${grant.consumer}`,
    '{',
    `  ${identity}`,
    '  permissions: {',
    `    publish: { allow: ${list(p.publish.allow)}, deny: ${list(p.publish.deny)} }`,
    `    subscribe: { allow: ${list(p.subscribe.allow)} }`,
    '  }',
    '}',
  ].join('\n');
}

/** A whole `authorization { users = [...] }` block holding the given entries. */
export function authorizationBlock(entries: string[]): string {
  const indented = entries.map((e) => e.replace(/^/gm, '    ')).join('\n');
  return `authorization {\n  users = [\n${indented}\n  ]\n}`;
}
