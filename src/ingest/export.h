/*
 * export.h - writing stored rows back out in the import format.
 *
 * An export of an entity can be imported again and changes nothing: the same
 * fields, the same text forms (times in UTC with 'Z', money with two or more
 * decimals), custom fields of accounts as extra columns, and classified ticket
 * categories left empty (a re-import classifies them the same way).
 */
#ifndef KZ_INGEST_EXPORT_H
#define KZ_INGEST_EXPORT_H

#include <stdio.h>

#include "ingest/import.h"

/* Writes every row of kind to out as CSV (with a header) or NDJSON, in key
 * order (events: time order). 0, or an error with the reason. */
int kz_export(kz_store *st, kz_import_kind kind, kz_format fmt, FILE *out);

/* Appends one stored row of e (its internal id and values, as kz_store_each
 * hands them out) to out as a JSON object in the import format: the same
 * object an NDJSON export writes for it, custom fields of accounts
 * included, empty values left out. With derived, what the importer derived
 * is shown too (a ticket's classified category and "category_source"): an
 * object to read, not to import again. 0 or an error. */
int kz_export_row_json(kz_store *st, kz_entity e, int64_t id, const kz_value *row, int derived, kz_buf *out);

#endif
