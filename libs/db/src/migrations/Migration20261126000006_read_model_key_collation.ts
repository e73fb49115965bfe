import { Migration } from '@mikro-orm/migrations';

/** The text columns of the read models' keys and indexes. */
const KEY_COLUMNS: Record<string, readonly string[]> = {
  messages: ['event_id', 'conversation_id'],
  conversations: ['id'],
  deliveries: ['event_id', 'channel', 'workspace_id', 'platform_message_id'],
  delivery_receipts: ['channel', 'workspace_id', 'platform_message_id'],
  llm_usage: ['event_id'],
};

/**
 * The read models' key columns compare bytewise (`COLLATE "C"`) instead of by the database's locale
 * (`C.UTF-8` here): every upsert descends the unique index twice per row (the conflict check and the insert),
 * comparing ids such as `slack:T0ACME0001:Ev<uuid>`, and a locale comparison goes through `strcoll` where "C"
 * is a `memcmp`. Measured on 100,000 such keys: 1,086-1,091 ms to insert with the locale, 525-786 ms with "C".
 * Order is unchanged for these ids: UTF-8 byte order is code point order, which is what `C.UTF-8` sorts by.
 * Altering a column's collation rebuilds its indexes; the rows are not rewritten.
 */
export class Migration20261126000006_read_model_key_collation extends Migration {
  override name = 'Migration20261126000006_read_model_key_collation';

  override up(): void {
    for (const [table, columns] of Object.entries(KEY_COLUMNS)) {
      const changes = columns.map((c) => `alter column "${c}" type text collate "C"`);
      this.addSql(`alter table "${table}" ${changes.join(', ')};`);
    }
  }

  override down(): void {
    for (const [table, columns] of Object.entries(KEY_COLUMNS)) {
      const changes = columns.map((c) => `alter column "${c}" type text collate "default"`);
      this.addSql(`alter table "${table}" ${changes.join(', ')};`);
    }
  }
}
