/**
 * The status vocabularies of the read models, apart from the entities so that code which only plans rows (a
 * replay's worker thread) can import them without loading the ORM (`@konstruct/db/statuses`).
 */

/** The statuses a message moves through, in the order a projection never goes back on. */
export const MESSAGE_STATUSES = ['received', 'routed', 'replied', 'failed', 'delivered', 'rejected'] as const;
/** A message's status. */
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** The receipts a platform sends for a message the business sent, in the order that never regresses. */
export const RECEIPT_STATUSES = ['warning', 'sent', 'delivered', 'read', 'failed', 'deleted'] as const;
/** A platform receipt's status. */
export type ReceiptStatus = (typeof RECEIPT_STATUSES)[number];
