/*
 * schema.h - the import contract as data: entities, their fields, validators.
 *
 * One table row per entity lists its input fields (name, kind, required, limits,
 * allowed values, the store column it fills, and a help line). The table drives
 * header checks, row validation, `kizuna import --help` and the check that
 * docs/import.md documents every field. Validators turn one raw text or JSON
 * value into a store value or explain, in a phrase, why they cannot.
 */
#ifndef KZ_INGEST_SCHEMA_H
#define KZ_INGEST_SCHEMA_H

#include <stddef.h>

#include "core/hash.h"
#include "ingest/ndjson.h"
#include "store/store.h"

typedef enum {
    KZ_IMP_ACCOUNTS,
    KZ_IMP_CONTACTS,
    KZ_IMP_SUBSCRIPTIONS,
    KZ_IMP_EVENTS,
    KZ_IMP_TICKETS,
    KZ_IMP_NPS,
    KZ_IMP_ACTIVITIES,
    KZ_IMP_SPEND,
    KZ_IMP_COUNT
} kz_import_kind;

typedef enum {
    KZ_F_KEY,         /* an id: 1..max_len bytes, no control characters or outer spaces */
    KZ_F_TEXT,
    KZ_F_ACCOUNT,     /* an account_id that must exist */
    KZ_F_CONTACT,     /* a contact_id that must exist */
    KZ_F_TIME,        /* ISO-8601 date or date-time */
    KZ_F_DATE,        /* ISO-8601 calendar date */
    KZ_F_MONTH,       /* YYYY-MM */
    KZ_F_MONEY,       /* decimal >= 0, at most 4 decimal places */
    KZ_F_COUNT,       /* integer >= 0 */
    KZ_F_SCORE,       /* integer 0..10 */
    KZ_F_BOOL,
    KZ_F_ENUM,        /* one of choices, case-insensitive */
    KZ_F_EMAIL,
    KZ_F_DOMAIN,
    KZ_F_NUMBER,      /* any finite number */
    KZ_F_JSON_OBJECT, /* a JSON object (as text in CSV) */
    KZ_F_NKINDS
} kz_ftype;

typedef struct kz_input_field {
    const char *name;
    kz_ftype type;
    int required;
    size_t max_len;      /* bytes; 0: import.max_field_bytes */
    const char *choices; /* KZ_F_ENUM: '|'-separated, lower case */
    int col;             /* store column, or -1 (events) */
    const char *help;
} kz_input_field;

typedef struct kz_import_schema {
    kz_import_kind kind;
    const char *name;     /* "accounts": the entity and the file name */
    const char *singular; /* "account" */
    int entity;           /* kz_entity, or -1 for events */
    const kz_input_field *fields;
    size_t nfields;
    int custom_fields;    /* extra columns become custom fields */
    const char *help;
} kz_import_schema;

/* The schema of an import kind. Static. */
const kz_import_schema *kz_import_schema_of(kz_import_kind k);

/* The kind named by s ("accounts", "account", "nps", ...); -1 when unknown. */
int kz_import_kind_parse(const char *s);

/* The field of a schema named name[0..n), or NULL. */
const kz_input_field *kz_schema_field(const kz_import_schema *s, const char *name, size_t n);

/* A short description of a field kind for messages and docs ("ISO-8601 date"). */
const char *kz_ftype_name(kz_ftype t);

/* One input value: from CSV (text; empty = null) or NDJSON (typed). */
typedef struct kz_rawval {
    kz_jtype type; /* KZ_JSTRING for CSV text; KZ_JNULL when empty or absent */
    const char *s;
    size_t n;
} kz_rawval;

/* What validators may look up. */
typedef struct kz_vctx {
    const kz_strmap *accounts; /* account_id -> internal id */
    const kz_strmap *contacts; /* contact_id -> internal id (may be NULL) */
    size_t max_field;          /* import.max_field_bytes */
} kz_vctx;

/* Validates and converts v for field f into out (KZ_VNULL when empty). Text
 * results point into v. 0, or KZ_EINVALID with the reason (without the field
 * name) in kz_error_msg(). */
int kz_validate(const kz_vctx *ctx, const kz_input_field *f, const kz_rawval *v, kz_value *out);

/* Checks text: valid UTF-8, no control characters but tab/CR/LF, at most max
 * bytes. 0 or KZ_EINVALID. */
int kz_check_text(const char *s, size_t n, size_t max);

#endif
