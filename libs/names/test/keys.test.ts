import { ValidationError } from '@konstruct/core';
import {
  engagedThreadKey,
  idempotencyKey,
  opsSubject,
  parseTenantSubject,
  rateLimitKey,
  rateNoticeKey,
  sessionKey,
  tenantSubject,
  tenantWildcard,
  topology,
} from '@konstruct/names';
import { describe, expect, it } from 'vitest';

const tenant = '0b7c6f1e-4a4e-4c1a-9d52-3f0f5b8f2a10';

describe('Redis key builders', () => {
  it('shape every key as {tenantId}:{type}:{discriminator}', () => {
    expect(rateLimitKey(tenant, 'slack', 'C0GENERAL1')).toBe(`{${tenant}}:ratelimit:slack:C0GENERAL1`);
    expect(idempotencyKey(tenant, 'delivery', 'Ev0APPMENTION1.agent.replied')).toBe(
      `{${tenant}}:idempotency:delivery:Ev0APPMENTION1.agent.replied`,
    );
    expect(sessionKey(tenant, 'conv-1')).toBe(`{${tenant}}:session:conv-1`);
    expect(engagedThreadKey(tenant, 'slack', 'C0GENERAL1', '1764151200.000100')).toBe(
      `{${tenant}}:engaged:slack:C0GENERAL1:1764151200.000100`,
    );
    expect(rateNoticeKey(tenant, 'whatsapp', '16505551234')).toBe(
      `{${tenant}}:ratenotice:whatsapp:16505551234`,
    );
  });

  it.each([
    ['an empty tenant id', ''],
    ['a slug instead of an id', 'acme'],
    ['an uppercase UUID', tenant.toUpperCase()],
    ['a tenant id with a brace', `${tenant}}`],
    ['a wildcard', '*'],
  ])('refuse %s', (_what, bad) => {
    expect(() => sessionKey(bad, 'conv-1')).toThrow(ValidationError);
    expect(() => rateLimitKey(bad, 'slack', 'C1')).toThrow(ValidationError);
  });

  it.each([
    ['empty', ''],
    ['a space', 'a b'],
    ['a brace that would fake another tenant', `{${tenant}}`],
    ['a newline', 'a\nb'],
    ['a glob', 'C0*'],
  ])('refuse a discriminator that is %s', (_what, bad) => {
    expect(() => engagedThreadKey(tenant, 'slack', bad, '1.2')).toThrow(/discriminator/);
    expect(() => sessionKey(tenant, bad)).toThrow(ValidationError);
  });
});

describe('subjects', () => {
  const space = topology({ prefix: 't1.' });

  it('put tenant facts on tenant.<id>.<aggregate>.<event>[.<channel>]', () => {
    expect(tenantSubject(space, tenant, 'message.received', 'slack')).toBe(
      `t1.tenant.${tenant}.message.received.slack`,
    );
    expect(tenantWildcard(space, tenant)).toBe(`t1.tenant.${tenant}.>`);
    expect(opsSubject(space, 'ingress', 'unrouted')).toBe('t1.ops.ingress.unrouted');
  });

  it('refuse tokens that would widen a subscription', () => {
    expect(() => tenantSubject(space, tenant, 'message.*')).toThrow(ValidationError);
    expect(() => tenantSubject(space, tenant, 'message.received', '>')).toThrow(ValidationError);
    expect(() => tenantSubject(space, '*', 'message.received')).toThrow(ValidationError);
  });

  it('parse a tenant subject back', () => {
    expect(parseTenantSubject(space, `t1.tenant.${tenant}.agent.replied`)).toEqual({
      tenantId: tenant,
      tokens: ['agent', 'replied'],
    });
    expect(parseTenantSubject(space, 't1.ops.ingress.unrouted')).toBeUndefined();
  });
});
