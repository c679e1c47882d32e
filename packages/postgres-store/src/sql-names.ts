/**
 * The outbox tables of one schema as quoted SQL names. A schema name is checked to be lower-case
 * letters, digits and `_` (see `checkSchemaName`), so quoting it is enough to make it safe, and it
 * makes reserved words (`user`, `order`) usable as schema names.
 *
 * @example
 * const t = tableNames('user');
 * await pool.query(`SELECT count(*) FROM ${t.outbox}`); // SELECT count(*) FROM "user".outbox
 */
export interface TableNames {
  /** The quoted schema: `"user"`. */
  schema: string;
  outbox: string;
  deadLetters: string;
  schemaVersion: string;
}

/**
 * {@link TableNames} of `schema` (a name `checkSchemaName` accepted).
 *
 * @example
 * tableNames('pacspace_metering').deadLetters; // '"pacspace_metering".dead_letters'
 */
export function tableNames(schema: string): TableNames {
  const quoted = `"${schema}"`;
  return { schema: quoted, outbox: `${quoted}.outbox`, deadLetters: `${quoted}.dead_letters`, schemaVersion: `${quoted}.schema_version` };
}
