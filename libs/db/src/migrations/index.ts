import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261126000001_tenancy } from './Migration20261126000001_tenancy.ts';
import { Migration20261126000002_app_access } from './Migration20261126000002_app_access.ts';
import { Migration20261126000003_projections } from './Migration20261126000003_projections.ts';
import { Migration20261126000004_read_model_indexes } from './Migration20261126000004_read_model_indexes.ts';
import { Migration20261126000005_read_model_tenant_checks } from './Migration20261126000005_read_model_tenant_checks.ts';
import { Migration20261126000006_read_model_key_collation } from './Migration20261126000006_read_model_key_collation.ts';

/** Every migration in order. Listed explicitly so they load the same under Node and vitest. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261126000001_tenancy', class: Migration20261126000001_tenancy },
  { name: 'Migration20261126000002_app_access', class: Migration20261126000002_app_access },
  { name: 'Migration20261126000003_projections', class: Migration20261126000003_projections },
  { name: 'Migration20261126000004_read_model_indexes', class: Migration20261126000004_read_model_indexes },
  {
    name: 'Migration20261126000005_read_model_tenant_checks',
    class: Migration20261126000005_read_model_tenant_checks,
  },
  {
    name: 'Migration20261126000006_read_model_key_collation',
    class: Migration20261126000006_read_model_key_collation,
  },
];
