/*
 * docs_test.c - docs/import.md documents every field of every entity, under
 * the entity's own heading, and nothing the schema lacks; docs/openapi.yaml
 * describes every route the server answers, and no other; docs/anomalies.md
 * lists every watched kind of series with its threshold.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "engine/signals.h"
#include "engine/watch.h"
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

/* Every $ref of the document points at a schema it defines. */
static void refs_resolve(const cJSON *node, const cJSON *schemas)
{
    if (cJSON_IsObject(node)) {
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(node, "$ref");
        if (cJSON_IsString(ref)) {
            const char *prefix = "#/components/schemas/";
            cr_assert(strncmp(ref->valuestring, prefix, strlen(prefix)) == 0, "$ref %s", ref->valuestring);
            cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(schemas, ref->valuestring + strlen(prefix)),
                               "docs/openapi.yaml: $ref %s is not defined", ref->valuestring);
        }
    }
    for (const cJSON *c = node ? node->child : NULL; c; c = c->next)
        refs_resolve(c, schemas);
}

Test(docs, openapi_lists_every_route_and_only_them)
{
    /* the document as the server serves it (the file without its comments) */
    cJSON *doc = cJSON_ParseWithLength((const char *)kz_openapi_doc, kz_openapi_doc_len);
    cr_assert_not_null(doc, "docs/openapi.yaml is not JSON-style YAML: %s", cJSON_GetErrorPtr());
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "openapi")->valuestring, "3.0.3");
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    cr_assert(cJSON_IsObject(paths));
    size_t n;
    const kz_route *routes = kz_api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        char method[16];
        size_t k = 0;
        for (; routes[i].method[k] && k + 1 < sizeof method; k++)
            method[k] = (char)(routes[i].method[k] - 'A' + 'a');
        method[k] = '\0';
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(paths, routes[i].pattern);
        cr_assert_not_null(path, "docs/openapi.yaml lacks the path %s", routes[i].pattern);
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(path, method);
        cr_assert_not_null(op, "docs/openapi.yaml lacks %s %s", routes[i].method, routes[i].pattern);
        cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(op, "responses"), "%s %s: no responses", method,
                           routes[i].pattern);
        /* the route's least role is what the document says */
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(op, "description");
        static const char *const roles[] = { NULL, "viewer", "support", "csm", "admin" };
        if (roles[routes[i].role]) {
            char want[64];
            snprintf(want, sizeof want, "Least role: %s.", roles[routes[i].role]);
            cr_assert(cJSON_IsString(desc) && strstr(desc->valuestring, want), "%s %s: should say '%s'", method,
                      routes[i].pattern, want);
        }
    }
    /* and nothing the server does not answer */
    for (const cJSON *path = paths->child; path; path = path->next)
        for (const cJSON *op = path->child; op; op = op->next) {
            int found = 0;
            for (size_t i = 0; i < n && !found; i++)
                found = strcmp(routes[i].pattern, path->string) == 0 && strcasecmp(routes[i].method, op->string) == 0;
            cr_assert(found, "docs/openapi.yaml describes %s %s, which the server does not answer", op->string,
                      path->string);
        }
    refs_resolve(doc, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "components"), "schemas"));
    cJSON_Delete(doc);
}

/* docs/anomalies.md has a row for every kind of watched series, with the
 * threshold the code gives it (a row may name several kinds of one threshold). */
Test(docs, anomalies_md_lists_every_watched_kind_with_its_threshold)
{
    char *doc = kt_read(kt_fixture("../../docs/anomalies.md"), NULL);
    cr_assert_not_null(doc, "docs/anomalies.md is missing");
    size_t n;
    const kz_watch_kind *k = kz_watch_kinds(&n);
    cr_assert_gt(n, 10);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "`%s`", k[i].name);
        const char *at = NULL;
        for (const char *p = doc; (p = strstr(p, name)); p++) {
            const char *bol = p;
            while (bol > doc && bol[-1] != '\n')
                bol--;
            if (*bol == '|' && bol[1] == ' ' && bol[2] == '`') {
                at = bol;
                break;
            }
        }
        cr_assert_not_null(at, "docs/anomalies.md: no table row for %s", k[i].name);
        const char *eol = strchr(at, '\n'), *last = eol;
        while (last > at && last[-1] != '|')
            last--;
        const char *cell = last - 2;
        while (cell > at && cell[-1] != '|')
            cell--;
        double thr = strtod(cell, NULL);
        cr_assert_float_eq(thr, k[i].threshold, 1e-9, "docs/anomalies.md: %s has threshold %g, the code %g",
                           k[i].name, thr, k[i].threshold);
    }
    free(doc);
}
