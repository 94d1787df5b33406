/*
 * rules_playbook_test.c - playbook documents (src/rules/playbook.c): loading
 * and listing in a temporary folder, name validation, missing files, invalid
 * UTF-8, the size limit, titles, HTML rendering that is safe for the dashboard,
 * and the documents shipped in playbooks/.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/error.h"
#include "rules/playbook.h"
#include "../support/support.h"

static void write_doc(const char *dir, const char *file, const char *text)
{
    char *p = kt_path(dir, file);
    kt_write(p, text, (size_t)-1);
    free(p);
}

static char *html_of(const char *md)
{
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_playbook_html(&b, md, strlen(md)), 0, "%s", kz_error_msg());
    char *s = kz_buf_take(&b);
    cr_assert_not_null(s);
    return s;
}

Test(rules_playbook, load_reads_name_title_and_markdown)
{
    char *dir = kt_tmpdir();
    const char *text = "Intro line\n\n# Kick-off (キックオフ)\n\nSteps.\n\n# Second\n";
    write_doc(dir, "kick_off-2.md", text);
    kz_playbook p;
    cr_assert_eq(kz_playbook_load(&p, dir, "kick_off-2"), 0, "%s", kz_error_msg());
    cr_assert_str_eq(p.name, "kick_off-2");
    cr_assert_str_eq(p.title, "Kick-off (キックオフ)", "the first '# ' heading");
    cr_assert_str_eq(p.markdown, text);
    cr_assert_eq(p.len, strlen(text));
    kz_playbook_free(&p);
    cr_assert_null(p.name, "free zeroes");
    kz_playbook_free(&p);
    kz_playbook_free(NULL);
    kt_rmrf(dir);
}

Test(rules_playbook, title_rules)
{
    static const struct {
        const char *md, *title;
    } cases[] = {
        { "no heading at all\n", "doc" },
        { "## Only a second level\n", "doc" },
        { "#NoSpace\n", "doc" },
        { "#\n# \n# Real\n", "Real" },
        { "   # Indented three  \n", "Indented three" },
        { "    # Four spaces is code\n", "doc" },
        { "# Closed ##\n", "Closed" },
        { "# C# in a title\n", "C# in a title" },
        { "# Trailing CR\r\n", "Trailing CR" },
        { "```sh\n# a shell comment\n```\n# After the fence\n", "After the fence" },
        { "~~~~\n# in tilde fence\n~~~\n# still inside\n~~~~\n# Out\n", "Out" },
        { "\xef\xbb\xbf# After a BOM\n", "After a BOM" },
        { "#\tTabbed\n", "Tabbed" },
    };
    char *dir = kt_tmpdir();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_doc(dir, "doc.md", cases[i].md);
        kz_playbook p;
        cr_assert_eq(kz_playbook_load(&p, dir, "doc"), 0, "%s", kz_error_msg());
        cr_assert_str_eq(p.title, cases[i].title, "case %zu", i);
        kz_playbook_free(&p);
    }
    kt_rmrf(dir);
}

Test(rules_playbook, a_byte_order_mark_is_removed)
{
    char *dir = kt_tmpdir();
    write_doc(dir, "bom.md", "\xef\xbb\xbf# T\n");
    kz_playbook p;
    cr_assert_eq(kz_playbook_load(&p, dir, "bom"), 0, "%s", kz_error_msg());
    cr_assert_str_eq(p.markdown, "# T\n");
    cr_assert_eq(p.len, 4);
    kz_playbook_free(&p);
    kt_rmrf(dir);
}

Test(rules_playbook, names_are_validated_before_any_path_is_built)
{
    static const char *const bad[] = {
        "../etc/passwd", "a/b", "UPPER", "", "..", ".", "a.md", "a b", "tab\t", "名前", "x\\y", "-ok-but/no",
    };
    char *dir = kt_tmpdir();
    write_doc(dir, "UPPER.md", "# exists but the name is invalid\n");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        kz_playbook p;
        cr_assert_eq(kz_playbook_load(&p, dir, bad[i]), KZ_EINVALID, "'%s' should be rejected", bad[i]);
        cr_assert(strstr(kz_error_msg(), "playbook name") != NULL, "%s", kz_error_msg());
        cr_assert_null(p.name);
        cr_assert_eq(kz_playbook_name_ok(bad[i], strlen(bad[i])), 0, "%s", bad[i]);
    }
    kz_playbook p;
    cr_assert_eq(kz_playbook_load(&p, dir, "../etc/passwd"), KZ_EINVALID);
    cr_assert_str_eq(kz_error_msg(), "playbook name '../etc/passwd': only a-z, 0-9, '_' and '-' are allowed");
    cr_assert_eq(kz_playbook_load(&p, dir, NULL), KZ_EINVALID);

    char name[KZ_PLAYBOOK_NAME_MAX + 2];
    memset(name, 'a', sizeof name);
    name[KZ_PLAYBOOK_NAME_MAX] = '\0';
    cr_assert_eq(kz_playbook_name_ok(name, strlen(name)), 1, "64 bytes is the limit");
    name[KZ_PLAYBOOK_NAME_MAX] = 'a';
    name[KZ_PLAYBOOK_NAME_MAX + 1] = '\0';
    cr_assert_eq(kz_playbook_load(&p, dir, name), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "longer than 64 bytes") != NULL, "%s", kz_error_msg());
    cr_assert_eq(kz_playbook_name_ok("a-b_c9", 6), 1);
    kt_rmrf(dir);
}

Test(rules_playbook, a_missing_file_is_not_found)
{
    char *dir = kt_tmpdir();
    kz_playbook p;
    cr_assert_eq(kz_playbook_load(&p, dir, "nothing"), KZ_ENOTFOUND);
    kz_buf want;
    kz_buf_init(&want, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_buf_printf(&want, "playbook 'nothing': no file %s/nothing.md", dir), 0);
    cr_assert_str_eq(kz_error_msg(), want.data);
    kz_buf_free(&want);
    char *missing = kt_path(dir, "no-such-folder");
    cr_assert_eq(kz_playbook_load(&p, missing, "x"), KZ_ENOTFOUND);
    free(missing);
    kt_rmrf(dir);
}

Test(rules_playbook, a_folder_named_like_a_document_is_no_document)
{
    char *dir = kt_tmpdir();
    char *sub = kt_path(dir, "folder.md");
    cr_assert_eq(mkdir(sub, 0700), 0);
    kz_playbook p;
    cr_assert_eq(kz_playbook_load(&p, dir, "folder"), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "not a regular file") != NULL, "%s", kz_error_msg());
    kz_playbook *v;
    size_t n;
    cr_assert_eq(kz_playbook_list(&v, &n, dir), 0, "%s", kz_error_msg());
    cr_assert_eq(n, 0, "skipped by the list");
    free(sub);
    kt_rmrf(dir);
}

Test(rules_playbook, invalid_utf8_names_byte_and_line)
{
    char *dir = kt_tmpdir();
    write_doc(dir, "bad.md", "# Title\nok line\nbad \xff here\n");
    kz_playbook p;
    cr_assert_eq(kz_playbook_load(&p, dir, "bad"), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "playbook 'bad': ") == kz_error_msg(), "%s", kz_error_msg());
    cr_assert(strstr(kz_error_msg(), "invalid UTF-8 at byte 20 (line 3)") != NULL, "%s", kz_error_msg());
    cr_assert_null(p.markdown);

    write_doc(dir, "trunc.md", "\xe3\x81");
    cr_assert_eq(kz_playbook_load(&p, dir, "trunc"), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "invalid UTF-8 at byte 0 (line 1)") != NULL, "%s", kz_error_msg());

    char *path = kt_path(dir, "nul.md");
    kt_write(path, "# a\n\0b", 6);
    cr_assert_eq(kz_playbook_load(&p, dir, "nul"), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "NUL byte at byte 4 (line 2)") != NULL, "%s", kz_error_msg());
    free(path);

    write_doc(dir, "jp.md", "# 更新レビュー\n本文です。\n");
    cr_assert_eq(kz_playbook_load(&p, dir, "jp"), 0, "%s", kz_error_msg());
    cr_assert_str_eq(p.title, "更新レビュー");
    kz_playbook_free(&p);
    kt_rmrf(dir);
}

Test(rules_playbook, the_size_limit_is_one_mebibyte)
{
    char *dir = kt_tmpdir();
    size_t n = KZ_PLAYBOOK_MAX_BYTES;
    char *big = malloc(n + 1);
    cr_assert_not_null(big);
    memset(big, 'x', n + 1);
    big[0] = '#';
    big[1] = ' ';
    char *path = kt_path(dir, "big.md");
    kt_write(path, big, n);
    kz_playbook p;
    cr_assert_eq(kz_playbook_load(&p, dir, "big"), 0, "exactly 1 MiB loads: %s", kz_error_msg());
    cr_assert_eq(p.len, n);
    kz_playbook_free(&p);
    kt_write(path, big, n + 1);
    cr_assert_eq(kz_playbook_load(&p, dir, "big"), KZ_ETOOBIG);
    cr_assert(strstr(kz_error_msg(), "larger than 1048576 bytes") != NULL, "%s", kz_error_msg());
    kz_playbook *v;
    size_t count;
    cr_assert_eq(kz_playbook_list(&v, &count, dir), KZ_ETOOBIG, "a broken document fails the list");
    cr_assert_null(v);
    cr_assert_eq(count, 0);
    free(path);
    free(big);
    kt_rmrf(dir);
}

Test(rules_playbook, list_is_sorted_and_skips_other_files)
{
    char *dir = kt_tmpdir();
    write_doc(dir, "renewal.md", "# Renewal\n");
    write_doc(dir, "a-first.md", "no title here\n");
    write_doc(dir, "zeta_9.md", "# Zeta\n");
    write_doc(dir, "README.MD", "# upper-case extension\n");
    write_doc(dir, "Notes.md", "# bad name\n");
    write_doc(dir, "notes.txt", "# not markdown\n");
    write_doc(dir, ".md", "# no name\n");
    write_doc(dir, "x.md.md", "# dotted name\n");
    write_doc(dir, "middle.md~", "# editor backup\n");
    kz_playbook *v;
    size_t n;
    cr_assert_eq(kz_playbook_list(&v, &n, dir), 0, "%s", kz_error_msg());
    cr_assert_eq(n, 3);
    cr_assert_str_eq(v[0].name, "a-first");
    cr_assert_str_eq(v[0].title, "a-first", "no heading: the name");
    cr_assert_str_eq(v[1].name, "renewal");
    cr_assert_str_eq(v[1].title, "Renewal");
    cr_assert_str_eq(v[1].markdown, "# Renewal\n", "documents are loaded in full");
    cr_assert_str_eq(v[2].name, "zeta_9");
    kz_playbook_list_free(v, n);
    kz_playbook_list_free(NULL, 0);
    kt_rmrf(dir);
}

Test(rules_playbook, a_missing_folder_is_an_empty_list)
{
    char *dir = kt_tmpdir();
    char *missing = kt_path(dir, "playbooks");
    kz_playbook *v = (kz_playbook *)1;
    size_t n = 7;
    cr_assert_eq(kz_playbook_list(&v, &n, missing), 0, "%s", kz_error_msg());
    cr_assert_null(v);
    cr_assert_eq(n, 0);
    cr_assert_eq(kz_playbook_list(&v, &n, dir), 0, "an empty folder");
    cr_assert_eq(n, 0);
    free(missing);
    kt_rmrf(dir);
}

Test(rules_playbook, a_file_where_the_folder_should_be_is_an_error)
{
    char *dir = kt_tmpdir();
    char *file = kt_path(dir, "playbooks");
    kt_write(file, "not a folder", (size_t)-1);
    kz_playbook *v;
    size_t n;
    cr_assert_eq(kz_playbook_list(&v, &n, file), KZ_EIO);
    cr_assert(strstr(kz_error_msg(), "cannot open the folder") != NULL, "%s", kz_error_msg());
    free(file);
    kt_rmrf(dir);
}

Test(rules_playbook, html_of_headings_lists_and_tables)
{
    char *h = html_of("# Title\n\n## Steps\n\n1. one\n2. two\n\n- [ ] todo\n- [x] done\n\n"
                      "| who | what |\n| --- | --- |\n| CSM | call |\n\n**bold** ~~gone~~\n");
    cr_assert(kt_contains(h, "<h1>Title</h1>"), "%s", h);
    cr_assert(kt_contains(h, "<h2>Steps</h2>"), "%s", h);
    cr_assert(kt_contains(h, "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"), "%s", h);
    cr_assert(kt_contains(h, "class=\"task-list-item-checkbox\" disabled>todo"), "%s", h);
    cr_assert(kt_contains(h, "class=\"task-list-item-checkbox\" disabled checked>done"), "%s", h);
    cr_assert(kt_contains(h, "<table>"), "%s", h);
    cr_assert(kt_contains(h, "<th>who</th>"), "%s", h);
    cr_assert(kt_contains(h, "<td>CSM</td>"), "%s", h);
    cr_assert(kt_contains(h, "<strong>bold</strong>"), "%s", h);
    cr_assert(kt_contains(h, "<del>gone</del>"), "%s", h);
    free(h);
    h = html_of("# 更新レビュー（90日前）\n");
    cr_assert_str_eq(h, "<h1>更新レビュー（90日前）</h1>\n");
    free(h);
}

Test(rules_playbook, raw_html_is_escaped)
{
    char *h = html_of("<script>alert(1)</script>\n\ntext <img src=x onerror=alert(1)> and <b>b</b>\n");
    cr_assert(!kt_contains(h, "<script"), "%s", h);
    cr_assert(!kt_contains(h, "<img"), "%s", h);
    cr_assert(!kt_contains(h, "<b>"), "%s", h);
    cr_assert(kt_contains(h, "&lt;script&gt;alert(1)&lt;/script&gt;"), "%s", h);
    cr_assert(kt_contains(h, "&lt;img src=x onerror=alert(1)&gt;"), "%s", h);
    free(h);
}

Test(rules_playbook, unsafe_link_schemes_are_neutralised)
{
    char *h = html_of("[a](javascript:alert(1)) [b](JavaScript:x) [c](jav&#97;script:x) [d](javascript&#58;x) "
                      "<javascript:alert(2)> ![i](data:text/html,x) [v](vbscript:x)\n");
    cr_assert(!kt_contains(h, "href=\"javascript") && !kt_contains(h, "href=\"JavaScript"), "%s", h);
    cr_assert(!kt_contains(h, "src=\"data:"), "%s", h);
    cr_assert(!kt_contains(h, "vbscript:x\""), "%s", h);
    cr_assert(kt_contains(h, "<a href=\"#\">a</a>"), "%s", h);
    cr_assert(kt_contains(h, "<img src=\"#\" alt=\"i\">"), "%s", h);
    free(h);
    h = html_of("[w](https://example.com/?a=1&b=2) [m](mailto:cs@example.com) [r](renewal-review.md#risks) "
                "[f](#top) [h](HTTP://EXAMPLE.COM) [p](./a:b)\n");
    cr_assert(kt_contains(h, "href=\"https://example.com/?a=1&amp;b=2\""), "%s", h);
    cr_assert(kt_contains(h, "href=\"mailto:cs@example.com\""), "%s", h);
    cr_assert(kt_contains(h, "href=\"renewal-review.md#risks\""), "%s", h);
    cr_assert(kt_contains(h, "href=\"#top\""), "%s", h);
    cr_assert(kt_contains(h, "href=\"HTTP://EXAMPLE.COM\""), "%s", h);
    cr_assert(kt_contains(h, "href=\"./a:b\""), "%s", h);
    free(h);
    /* text that looks like an attribute stays text */
    h = html_of("write href=\"javascript:x\" in `src=\"data:y\"`\n");
    cr_assert(kt_contains(h, "href=&quot;javascript:x&quot;"), "%s", h);
    free(h);
}

Test(rules_playbook, html_appends_and_respects_the_cap)
{
    kz_buf b;
    kz_buf_init(&b, 16);
    cr_assert_eq(kz_buf_puts(&b, "<div>"), 0);
    cr_assert_eq(kz_playbook_html(&b, "# x", 3), 0, "%s", kz_error_msg());
    cr_assert_str_eq(kz_buf_cstr(&b), "<div><h1>x</h1>\n");
    const char *longer = "a paragraph far longer than sixteen bytes";
    cr_assert_eq(kz_playbook_html(&b, longer, strlen(longer)), KZ_ETOOBIG);
    cr_assert_str_eq(kz_buf_cstr(&b), "<div><h1>x</h1>\n", "left as it was");
    kz_buf_free(&b);
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_playbook_html(&b, "", 0), 0, "empty Markdown");
    cr_assert_eq(b.len, 0);
    kz_buf_free(&b);
}

/* The folder shipped with Kizuna: tests run from the repository root; under
 * make, KIZUNA_FIXTURES (tests/fixtures) points there as well. */
static char *shipped_dir(void)
{
    const char *fx = getenv("KIZUNA_FIXTURES");
    if (fx && *fx)
        return kt_path(fx, "../../playbooks");
    return strdup("playbooks");
}

Test(rules_playbook, the_shipped_playbooks_load_and_render)
{
    static const char *const want[] = { "onboarding-kickoff", "renewal-review", "risk-recovery" };
    char *dir = shipped_dir();
    kz_playbook *v;
    size_t n;
    cr_assert_eq(kz_playbook_list(&v, &n, dir), 0, "%s: %s", dir, kz_error_msg());
    cr_assert_geq(n, 3, "%s", dir);
    for (size_t w = 0; w < sizeof want / sizeof *want; w++) {
        size_t i = 0;
        while (i < n && strcmp(v[i].name, want[w]) != 0)
            i++;
        cr_assert_lt(i, n, "%s/%s.md is shipped", dir, want[w]);
        cr_assert(strncmp(v[i].markdown, "# ", 2) == 0, "%s starts with a '# Title' line", want[w]);
        cr_assert_str_neq(v[i].title, v[i].name, "%s has a title", want[w]);
        cr_assert_gt(v[i].len, 2000, "%s is a real document", want[w]);
        kz_buf b;
        kz_buf_init(&b, KZ_BUF_UNLIMITED);
        cr_assert_eq(kz_playbook_html(&b, v[i].markdown, v[i].len), 0, "%s", kz_error_msg());
        cr_assert(kt_contains(b.data, "<h1>"), "%s", want[w]);
        cr_assert(kt_contains(b.data, "<h2>"), "%s", want[w]);
        cr_assert(kt_contains(b.data, "<table>"), "%s has a table", want[w]);
        cr_assert(kt_contains(b.data, "task-list-item"), "%s has a checklist", want[w]);
        kz_buf_free(&b);
    }
    kz_playbook p;
    cr_assert_eq(kz_playbook_load(&p, dir, "onboarding-kickoff"), 0, "%s", kz_error_msg());
    cr_assert(kt_contains(p.markdown, "first report created"), "the first value milestone");
    cr_assert(kt_contains(p.markdown, "day 14"), "by day 14");
    kz_playbook_free(&p);
    cr_assert_eq(kz_playbook_load(&p, dir, "renewal-review"), 0, "%s", kz_error_msg());
    cr_assert(kt_contains(p.markdown, "90 days") && kt_contains(p.markdown, "60 days") &&
              kt_contains(p.markdown, "30 days"));
    kz_playbook_free(&p);
    kz_playbook_list_free(v, n);
    free(dir);
}
