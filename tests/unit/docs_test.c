/*
 * docs_test.c - docs/import.md documents every field of every entity, under
 * the entity's own heading, and nothing the schema lacks.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/signals.h"
#include "ingest/schema.h"
#include "../support/support.h"

Test(docs, import_md_lists_every_field_of_every_entity)
{
    char *doc = kt_read(kt_fixture("../../docs/import.md"), NULL);
    cr_assert_not_null(doc, "docs/import.md is missing");
    for (int k = 0; k < KZ_IMP_COUNT; k++) {
        const kz_import_schema *sc = kz_import_schema_of((kz_import_kind)k);
        char heading[64];
        snprintf(heading, sizeof heading, "\n## %s\n", sc->name);
        char *start = strstr(doc, heading);
        cr_assert_not_null(start, "no section '## %s'", sc->name);
        char *end = strstr(start + 1, "\n## ");
        size_t len = end ? (size_t)(end - start) : strlen(start);
        char *section = strndup(start, len);
        for (size_t i = 0; i < sc->nfields; i++) {
            char row[96];
            snprintf(row, sizeof row, "| `%s` |", sc->fields[i].name);
            cr_assert(kt_contains(section, row), "docs/import.md, %s: field %s is not documented", sc->name,
                      sc->fields[i].name);
            if (sc->fields[i].required) {
                char *at = strstr(section, row);
                char *eol = strchr(at, '\n');
                char *yes = strstr(at, "| yes |");
                cr_assert(yes && yes < eol, "docs/import.md, %s: %s should say it is required", sc->name,
                          sc->fields[i].name);
            }
        }
        /* every documented field exists */
        for (char *p = section; (p = strstr(p, "\n| `")) != NULL; p++) {
            char *name = p + 4;
            char *q = strchr(name, '`');
            cr_assert_not_null(kz_schema_field(sc, name, (size_t)(q - name)), "docs/import.md, %s: '%.*s' is not a field",
                               sc->name, (int)(q - name), name);
        }
        free(section);
    }
}

/* docs/metrics.md has a row for every signal of the engine's table. */
Test(docs, metrics_md_lists_every_signal)
{
    char *doc = kt_read(kt_fixture("../../docs/metrics.md"), NULL);
    cr_assert_not_null(doc, "docs/metrics.md is missing");
    const kz_signal_def *d = kz_signal_defs();
    for (int i = 0; i < KZ_NSIGNALS; i++) {
        char row[96];
        snprintf(row, sizeof row, "\n| `%s` | %s |", d[i].name, d[i].unit);
        cr_assert(kt_contains(doc, row), "docs/metrics.md: signal %s (%s) is not documented", d[i].name, d[i].unit);
    }
    free(doc);
}
