/*
 * playbook.h - playbook documents: the Markdown files that explain a customer
 * success process step by step (kick-off, renewal review, risk recovery), kept
 * in one folder (configuration key playbooks.dir, default "playbooks") as
 * NAME.md. A rule names its playbook (rule.h, kz_rule.playbook) and a task
 * links to it; the dashboard shows it as HTML.
 *
 * This file reads, lists and renders documents; it knows nothing of rules,
 * of the configuration (callers pass the folder) or of HTTP.
 *
 * Ownership: the strings of a kz_playbook are malloc'd and go with
 * kz_playbook_free; a list and its documents go with kz_playbook_list_free.
 */
#ifndef KZ_RULES_PLAYBOOK_H
#define KZ_RULES_PLAYBOOK_H

#include <stddef.h>

#include "core/buf.h"

#define KZ_PLAYBOOK_NAME_MAX 64
#define KZ_PLAYBOOK_MAX_BYTES ((size_t)1 << 20)

typedef struct kz_playbook {
    char *name;     /* file name without .md: [a-z0-9_-]+ */
    char *title;    /* the first '# ' heading, else the name */
    char *markdown; /* the document (a leading UTF-8 byte order mark removed), NUL-terminated */
    size_t len;     /* bytes of markdown */
} kz_playbook;

/* 1 when name[0..n) is a valid playbook name: 1-64 bytes of [a-z0-9_-]. */
int kz_playbook_name_ok(const char *name, size_t n);

/* Reads dir/NAME.md into *out. The document must be a regular file of valid
 * UTF-8 without NUL bytes, at most KZ_PLAYBOOK_MAX_BYTES (1 MiB).
 * Returns 0; KZ_EINVALID for a bad name ("playbook name '../x': ..."), a file
 * that is not regular, invalid UTF-8 ("playbook 'x': invalid UTF-8 at byte N
 * (line L)"); KZ_ENOTFOUND "playbook 'x': no file dir/x.md"; KZ_ETOOBIG;
 * KZ_EIO; KZ_ENOMEM. On failure *out is zeroed. Caller frees with
 * kz_playbook_free. */
int kz_playbook_load(kz_playbook *out, const char *dir, const char *name);

/* Every dir/NAME.md whose NAME is valid and which is a regular file, loaded
 * in full (markdown and title) as kz_playbook_load does, sorted by name. Other
 * files (README.MD, Notes.md, x.txt) are skipped. A missing folder is an empty
 * list (*out NULL, *n 0). A document that fails to load fails the whole list,
 * with that document's error, so that a broken document is seen, not hidden.
 * Returns 0, KZ_EIO (the folder cannot be read), KZ_ETOOBIG (more than 1000
 * documents) or the error of a document. Caller frees with kz_playbook_list_free. */
int kz_playbook_list(kz_playbook **out, size_t *n, const char *dir);

/* Frees the strings of *p and zeroes it (p itself is the caller's). NULL is a no-op. */
void kz_playbook_free(kz_playbook *p);

/* Frees n documents and the array. kz_playbook_list_free(NULL, 0) is a no-op. */
void kz_playbook_list_free(kz_playbook *v, size_t n);

/* Appends md[0..n) as HTML to out: GitHub dialect (tables, task lists,
 * strikethrough, autolinks); raw HTML in the Markdown is escaped, not passed
 * through, and a link or image whose URL has a scheme other than http, https
 * or mailto (javascript:, data:, ...) gets "#" instead, since documents are
 * shown in the dashboard. Returns 0; KZ_EINVALID when md4c fails; KZ_ETOOBIG /
 * KZ_ENOMEM from out. On failure out is left as it was. */
int kz_playbook_html(kz_buf *out, const char *md, size_t n);

#endif
