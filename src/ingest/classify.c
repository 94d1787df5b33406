/*
 * classify.c - telling functional tickets from operational ones.
 *
 * Technical support answers functional questions (how a feature works, errors,
 * bugs); the CSM answers operational ones (rolling the product out, workflows,
 * KPIs, renewal). A ticket imported without a category is classified here from
 * its subject and body by weighted keywords in English and Japanese; the
 * weights favour the subject. Ties and tickets without any clue are functional,
 * the more common kind. The stored category_source says "classified" so that
 * a person can tell and correct it.
 */
#include <stddef.h>
#include <string.h>

#include "ingest/import.h"

struct clue {
    const char *word; /* lower case ASCII, or UTF-8 Japanese */
    int weight;       /* > 0 operational, < 0 functional */
};

static const struct clue clues[] = {
    /* functional: how it works, what is broken */
    { "error", -3 }, { "bug", -3 }, { "crash", -3 }, { "fails", -3 }, { "failed", -3 },
    { "broken", -3 }, { "not working", -3 }, { "doesn't work", -3 }, { "does not work", -3 },
    { "cannot", -2 }, { "can't", -2 }, { "unable", -2 }, { "how do i", -2 }, { "how to", -2 },
    { "login", -2 }, { "log in", -2 }, { "password", -2 }, { "export", -1 }, { "import", -1 },
    { "api", -1 }, { "slow", -2 }, { "timeout", -2 }, { "500", -2 }, { "404", -2 },
    { "permission", -1 }, { "setting", -1 }, { "filter", -1 }, { "sso", -1 }, { "csv", -1 },
    { "エラー", -3 }, { "不具合", -3 }, { "バグ", -3 }, { "できない", -2 }, { "できません", -2 },
    { "ログイン", -2 }, { "パスワード", -2 }, { "表示されない", -3 }, { "遅い", -2 }, { "方法を教えて", -1 },
    { "設定", -1 }, { "動かない", -3 }, { "失敗", -2 },
    /* operational: how the customer runs their business with it */
    { "rollout", 3 }, { "roll out", 3 }, { "rolling out", 3 }, { "onboarding", 3 }, { "adoption", 3 },
    { "training", 2 }, { "best practice", 3 }, { "workflow", 2 }, { "kpi", 3 }, { "roi", 3 },
    { "renewal", 3 }, { "contract", 2 }, { "budget", 2 }, { "team", 1 }, { "department", 2 },
    { "process", 2 }, { "strategy", 2 }, { "goal", 2 }, { "success plan", 3 }, { "review", 1 },
    { "executive", 2 }, { "stakeholder", 2 }, { "use case", 2 }, { "which kpis", 3 },
    { "導入", 3 }, { "活用", 3 }, { "運用", 3 }, { "社内展開", 3 }, { "定着", 3 }, { "研修", 2 },
    { "効果測定", 3 }, { "契約", 2 }, { "更新", 1 }, { "相談", 2 }, { "進め方", 3 }, { "体制", 2 },
    { "目標", 2 }, { "業務", 2 },
};

/* Case-insensitive (ASCII) search of needle in hay[0..n). */
static int contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0 || m > n)
        return 0;
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m) {
            char c = hay[i + k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != needle[k])
                break;
            k++;
        }
        if (k == m)
            return 1;
    }
    return 0;
}

const char *kz_classify_ticket(const char *subject, size_t subject_len, const char *body, size_t body_len)
{
    int score = 0;
    for (size_t i = 0; i < sizeof clues / sizeof clues[0]; i++) {
        if (subject && contains(subject, subject_len, clues[i].word))
            score += 2 * clues[i].weight;
        if (body && contains(body, body_len, clues[i].word))
            score += clues[i].weight;
    }
    return score > 0 ? "operational" : "functional";
}
