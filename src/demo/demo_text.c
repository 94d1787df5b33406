/*
 * demo_text.c - the words of the demo world: company and person names, ticket
 * subjects and bodies, NPS comments and CSM activity texts, in English and
 * Japanese, assembled from parts so that they vary (demo.h).
 *
 * Everything is drawn from the caller's generator, so the texts are as
 * deterministic as the rest of the world. Tables only; no model lives here.
 */
#include <stdio.h>
#include <string.h>

#include "demo/demo.h"

#define N_(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *pick(kz_rng *r, const char *const *list, int n)
{
    return list[kz_rng_range(r, 0, n - 1)];
}

#define PICK(r, list) pick((r), (list), N_(list))

/* ---- industries and regions ---------------------------------------------- */

static const char *const industries[KZ_DEMO_NINDUSTRIES] = {
    "SaaS", "Manufacturing", "Retail", "Finance", "Healthcare",
    "Education", "Logistics", "Media", "Real Estate", "Professional Services",
};

const char *kz_demo_industry(int i)
{
    return i >= 0 && i < KZ_DEMO_NINDUSTRIES ? industries[i] : "";
}

const char *kz_demo_region(int region)
{
    static const char *const names[KZ_DEMO_NREGIONS] = { "JP", "APAC", "EMEA", "NA" };
    return region >= 0 && region < KZ_DEMO_NREGIONS ? names[region] : "";
}

/* ---- Japanese company names ---------------------------------------------- */

typedef struct jword {
    const char *ja, *ro;
} jword;

static const jword ja_stems[] = {
    { "さくら", "sakura" },   { "みらい", "mirai" },    { "ひかり", "hikari" },  { "あおば", "aoba" },
    { "つばさ", "tsubasa" },  { "いろは", "iroha" },    { "こだま", "kodama" },  { "はるか", "haruka" },
    { "大和", "yamato" },     { "富士", "fuji" },       { "北斗", "hokuto" },    { "東海", "tokai" },
    { "日本", "nihon" },      { "中央", "chuo" },       { "新星", "shinsei" },   { "青空", "aozora" },
    { "朝日", "asahi" },      { "平和", "heiwa" },      { "明星", "myojo" },     { "丸和", "maruwa" },
    { "三和", "sanwa" },      { "大成", "taisei" },     { "共栄", "kyoei" },     { "双葉", "futaba" },
    { "若葉", "wakaba" },     { "白鳥", "shiratori" },  { "銀河", "ginga" },     { "飛鳥", "asuka" },
    { "匠", "takumi" },       { "瑞穂", "mizuho" },     { "結", "yui" },         { "光陽", "koyo" },
    { "東洋", "toyo" },       { "西日本", "nishinihon" }, { "北陸", "hokuriku" }, { "湘南", "shonan" },
    { "信越", "shinetsu" },   { "九州", "kyushu" },     { "四国", "shikoku" },   { "関東", "kanto" },
    { "なごみ", "nagomi" },   { "きずな", "kizuna" },   { "しずく", "shizuku" }, { "ことは", "kotoha" },
    { "アルファ", "alpha" },  { "ネクスト", "next" },   { "グリーン", "green" }, { "ブルー", "blue" },
    { "サン", "sun" },        { "スター", "star" },     { "ユニ", "uni" },       { "エース", "ace" },
};

/* Katakana syllables for coined names ("ミラル", "テクノ"...). */
static const jword ja_syll[] = {
    { "ア", "a" },  { "イ", "i" },  { "エ", "e" },  { "オ", "o" },  { "カ", "ka" }, { "キ", "ki" },
    { "ク", "ku" }, { "コ", "ko" }, { "サ", "sa" }, { "シ", "shi" }, { "ス", "su" }, { "セ", "se" },
    { "ソ", "so" }, { "タ", "ta" }, { "テ", "te" }, { "ト", "to" }, { "ナ", "na" }, { "ニ", "ni" },
    { "ノ", "no" }, { "ハ", "ha" }, { "ヒ", "hi" }, { "フ", "fu" }, { "ミ", "mi" }, { "ム", "mu" },
    { "メ", "me" }, { "モ", "mo" }, { "ラ", "ra" }, { "リ", "ri" }, { "ル", "ru" }, { "レ", "re" },
    { "ロ", "ro" }, { "ヴィ", "vi" }, { "ジ", "ji" }, { "ゼ", "ze" }, { "バ", "ba" }, { "ビ", "bi" },
    { "ベ", "be" }, { "ボ", "bo" }, { "パ", "pa" }, { "ポ", "po" }, { "ユ", "yu" }, { "ヨ", "yo" },
};

static const jword ja_ends[] = { { "ン", "n" }, { "ス", "s" }, { "ト", "to" }, { "ル", "ru" }, { "ア", "a" } };

/* Suffixes by industry (same order as industries[]). */
static const jword ja_suffix[KZ_DEMO_NINDUSTRIES][6] = {
    { { "テック", "tech" }, { "システムズ", "systems" }, { "ソフト", "soft" }, { "ラボ", "labs" },
      { "データ", "data" }, { "クラウド", "cloud" } },
    { { "工業", "kogyo" }, { "精機", "seiki" }, { "製作所", "seisakusho" }, { "電機", "denki" },
      { "化学", "kagaku" }, { "マテリアル", "material" } },
    { { "商事", "shoji" }, { "商店", "shoten" }, { "ストア", "store" }, { "リテール", "retail" },
      { "百貨", "hyakka" }, { "フーズ", "foods" } },
    { { "ファイナンス", "finance" }, { "キャピタル", "capital" }, { "証券", "shoken" }, { "保険", "hoken" },
      { "信販", "shinpan" }, { "リース", "lease" } },
    { { "メディカル", "medical" }, { "製薬", "seiyaku" }, { "ヘルスケア", "healthcare" }, { "薬品", "yakuhin" },
      { "ケア", "care" }, { "クリニック", "clinic" } },
    { { "教育", "kyoiku" }, { "アカデミー", "academy" }, { "ラーニング", "learning" }, { "学習社", "gakushusha" },
      { "ゼミナール", "seminar" }, { "スクール", "school" } },
    { { "物流", "butsuryu" }, { "運輸", "unyu" }, { "ロジスティクス", "logistics" }, { "倉庫", "soko" },
      { "エクスプレス", "express" }, { "運送", "unso" } },
    { { "メディア", "media" }, { "出版", "shuppan" }, { "企画", "kikaku" }, { "プロダクション", "production" },
      { "放送", "hoso" }, { "デザイン", "design" } },
    { { "不動産", "fudosan" }, { "地所", "jisho" }, { "ハウジング", "housing" }, { "建設", "kensetsu" },
      { "ホーム", "home" }, { "エステート", "estate" } },
    { { "コンサルティング", "consulting" }, { "パートナーズ", "partners" }, { "総研", "soken" },
      { "ソリューションズ", "solutions" }, { "アソシエイツ", "associates" }, { "サービス", "service" } },
};

static const jword ja_qualifiers[] = {
    { "ホールディングス", "hd" }, { "インターナショナル", "intl" }, { "ジャパン", "japan" },
    { "東京", "tokyo" },          { "大阪", "osaka" },            { "名古屋", "nagoya" },
    { "福岡", "fukuoka" },        { "札幌", "sapporo" },          { "横浜", "yokohama" },
    { "京都", "kyoto" },          { "神戸", "kobe" },             { "仙台", "sendai" },
};

static int ja_company(kz_buf *name, kz_buf *domain, kz_rng *r, int industry, int variant)
{
    char stem_ja[64], stem_ro[64];
    size_t nj = 0, nr = 0;
    int rc = 0;

    if (kz_rng_bern(r, 0.55)) {
        const jword *w = &ja_stems[kz_rng_range(r, 0, N_(ja_stems) - 1)];
        nj = (size_t)snprintf(stem_ja, sizeof stem_ja, "%s", w->ja);
        nr = (size_t)snprintf(stem_ro, sizeof stem_ro, "%s", w->ro);
    } else {
        /* a coined katakana word of two or three syllables, sometimes with a tail */
        int ns = kz_rng_bern(r, 0.6) ? 2 : 3;
        for (int i = 0; i < ns; i++) {
            const jword *w = &ja_syll[kz_rng_range(r, 0, N_(ja_syll) - 1)];
            nj += (size_t)snprintf(stem_ja + nj, sizeof stem_ja - nj, "%s", w->ja);
            nr += (size_t)snprintf(stem_ro + nr, sizeof stem_ro - nr, "%s", w->ro);
        }
        if (kz_rng_bern(r, 0.35)) {
            const jword *w = &ja_ends[kz_rng_range(r, 0, N_(ja_ends) - 1)];
            nj += (size_t)snprintf(stem_ja + nj, sizeof stem_ja - nj, "%s", w->ja);
            nr += (size_t)snprintf(stem_ro + nr, sizeof stem_ro - nr, "%s", w->ro);
        }
    }
    const jword *suf = &ja_suffix[industry][kz_rng_range(r, 0, 5)];
    const jword *q = variant > 0 ? &ja_qualifiers[(variant - 1) % N_(ja_qualifiers)] : NULL;
    double form = kz_rng_unif(r);
    const char *legal = form < 0.85 ? "株式会社" : form < 0.95 ? "合同会社" : "有限会社";
    int legal_first = form < 0.6 || form >= 0.85;

    if (legal_first)
        rc = kz_buf_puts(name, legal);
    if (!rc && q && variant <= 3)
        rc = kz_buf_puts(name, q->ja);
    if (!rc)
        rc = kz_buf_puts(name, stem_ja);
    if (!rc)
        rc = kz_buf_puts(name, suf->ja);
    if (!rc && q && variant > 3)
        rc = kz_buf_puts(name, q->ja);
    if (!rc && !legal_first)
        rc = kz_buf_puts(name, legal);

    int hyphen = kz_rng_bern(r, 0.3);
    if (!rc)
        rc = kz_buf_printf(domain, "%s%s%s", stem_ro, hyphen ? "-" : "", suf->ro);
    if (!rc && q)
        rc = kz_buf_printf(domain, "-%s", q->ro);
    if (!rc && variant > N_(ja_qualifiers))
        rc = kz_buf_printf(domain, "%d", variant);
    if (!rc)
        rc = kz_buf_puts(domain, kz_rng_bern(r, 0.75) ? ".co.jp" : ".jp");
    return rc;
}

/* ---- English company names ----------------------------------------------- */

static const char *const en_a[] = {
    "Blue",   "North",   "Bright", "Silver",  "Red",     "Green",   "Summit", "River",  "Stone",
    "Iron",   "Oak",     "Pine",   "Cedar",   "Maple",   "Harbor",  "Sky",    "Star",   "Sun",
    "Cloud",  "Swift",   "Clear",  "True",    "Prime",   "Nova",    "Apex",   "Atlas",  "Vertex",
    "Pixel",  "Signal",  "Beacon", "Anchor",  "Falcon",  "Granite", "Copper", "Golden", "Crystal",
    "Ever",   "West",    "East",   "South",   "High",    "Bay",     "Lake",   "Coral",  "Amber",
    "Ember",  "Orbit",   "Lumen",  "Zen",     "Arc",     "Fox",     "Wolf",   "Bear",   "Hawk",
};

static const char *const en_b[] = {
    "peak",  "wind",  "stone", "field", "bridge", "gate",  "point", "works", "line",  "path",
    "wave",  "forge", "craft", "light", "spring", "wood",  "brook", "ridge", "view",  "side",
    "crest", "port",  "stack", "shift", "base",   "loop",  "leaf",  "hill",  "mark",  "haven",
};

static const char *const en_places[] = {
    "Pacific", "Atlantic", "Midwest", "Northern", "Coastal", "Metro",   "Global", "United",
    "National", "Western", "Eastern", "Central",  "Capital", "Summit", "Harbor", "Valley",
};

static const char *const en_ind[KZ_DEMO_NINDUSTRIES][5] = {
    { "Software", "Systems", "Labs", "Analytics", "Technologies" },
    { "Manufacturing", "Industries", "Components", "Machining", "Materials" },
    { "Retail", "Stores", "Outfitters", "Supply", "Goods" },
    { "Capital", "Financial", "Lending", "Insurance", "Wealth" },
    { "Health", "Medical", "Clinics", "Pharma", "Care" },
    { "Learning", "Academy", "Education", "Schools", "Tutoring" },
    { "Logistics", "Freight", "Shipping", "Transport", "Delivery" },
    { "Media", "Studios", "Publishing", "Digital", "Broadcasting" },
    { "Properties", "Realty", "Homes", "Estates", "Development" },
    { "Consulting", "Advisors", "Group", "Associates", "Partners" },
};

static const char *const en_nick[] = { "Blue", "Prime", "Go", "Smart", "One", "Max", "Pro" };

/* Appends src lowercased with everything but letters and digits dropped. */
static int put_domain_word(kz_buf *b, const char *src)
{
    int rc = 0;
    for (const char *p = src; *p && !rc; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            rc = kz_buf_putc(b, c);
    }
    return rc;
}

static int en_company(kz_buf *name, kz_buf *domain, kz_rng *r, int industry, int region, int form,
                      int variant)
{
    char stem[64];
    const char *a = PICK(r, en_a);
    int compound = kz_rng_bern(r, 0.6);
    if (compound) {
        const char *b = PICK(r, en_b);
        snprintf(stem, sizeof stem, "%s%s", a, b);
    } else {
        const char *b = PICK(r, en_b);
        snprintf(stem, sizeof stem, "%s %c%s", a, b[0] - 'a' + 'A', b + 1);
    }
    const char *place = kz_rng_bern(r, 0.2) ? PICK(r, en_places) : NULL;
    const char *ind = kz_rng_bern(r, 0.85) ? en_ind[industry][kz_rng_range(r, 0, 4)] : NULL;
    const char *legal;
    double u = kz_rng_unif(r);
    switch (region) {
    case KZ_DEMO_EMEA:
        legal = u < 0.35 ? "Ltd" : u < 0.55 ? "GmbH" : u < 0.65 ? "B.V." : u < 0.72 ? "S.A." : u < 0.8 ? "plc" : "";
        break;
    case KZ_DEMO_APAC:
        legal = u < 0.45 ? "Pte Ltd" : u < 0.75 ? "Pty Ltd" : u < 0.85 ? "Ltd" : "";
        break;
    default:
        legal = u < 0.35 ? "Inc." : u < 0.55 ? "LLC" : u < 0.65 ? "Corp." : u < 0.7 ? "Co." : "";
        break;
    }
    if (form == 0) {
        double f = kz_rng_unif(r);
        form = f < 0.03 ? 1 : f < 0.036 ? 2 : 0;
    }
    if (form == 1 && !legal[0])
        legal = region == KZ_DEMO_EMEA ? "Ltd" : "Inc.";

    int rc = 0;
    if (place)
        rc = kz_buf_printf(name, "%s ", place);
    if (!rc)
        rc = kz_buf_puts(name, stem);
    if (!rc && form == 2)
        rc = kz_buf_printf(name, " \"%s\"", PICK(r, en_nick));
    if (!rc && ind)
        rc = kz_buf_printf(name, " %s", ind);
    if (!rc && variant > 0)
        rc = kz_buf_printf(name, " %s", en_places[(variant - 1) % N_(en_places)]);
    if (!rc && legal[0])
        rc = kz_buf_printf(name, "%s %s", form == 1 ? "," : "", legal);

    if (!rc && place && kz_rng_bern(r, 0.5))
        rc = put_domain_word(domain, place);
    if (!rc)
        rc = put_domain_word(domain, stem);
    if (!rc && ind && (kz_rng_bern(r, 0.5) || variant > 0))
        rc = put_domain_word(domain, ind);
    if (!rc && variant > 0)
        rc = put_domain_word(domain, en_places[(variant - 1) % N_(en_places)]);
    if (!rc && variant > N_(en_places))
        rc = kz_buf_printf(domain, "%d", variant);
    if (!rc) {
        static const char *const na_tld[] = { ".com", ".com", ".com", ".io", ".co", ".net" };
        static const char *const emea_tld[] = { ".co.uk", ".de", ".fr", ".nl", ".eu", ".com", ".com" };
        static const char *const apac_tld[] = { ".com.sg", ".com.au", ".com", ".co.nz", ".com.hk" };
        const char *tld = region == KZ_DEMO_EMEA ? PICK(r, emea_tld)
                          : region == KZ_DEMO_APAC ? PICK(r, apac_tld)
                                                   : PICK(r, na_tld);
        if (industry == 0 && kz_rng_bern(r, 0.3))
            tld = ".io";
        rc = kz_buf_puts(domain, tld);
    }
    return rc;
}

int kz_demo_company(kz_buf *name, kz_buf *domain, kz_rng *r, int japanese, int industry, int region,
                    int form, int variant)
{
    if (industry < 0 || industry >= KZ_DEMO_NINDUSTRIES)
        industry = 0;
    if (japanese)
        return ja_company(name, domain, r, industry, variant);
    return en_company(name, domain, r, industry, region, form, variant);
}

/* ---- people -------------------------------------------------------------- */

static const jword ja_family[] = {
    { "佐藤", "sato" },       { "鈴木", "suzuki" },   { "高橋", "takahashi" }, { "田中", "tanaka" },
    { "伊藤", "ito" },        { "渡辺", "watanabe" }, { "山本", "yamamoto" },  { "中村", "nakamura" },
    { "小林", "kobayashi" },  { "加藤", "kato" },     { "吉田", "yoshida" },   { "山田", "yamada" },
    { "佐々木", "sasaki" },   { "山口", "yamaguchi" }, { "松本", "matsumoto" }, { "井上", "inoue" },
    { "木村", "kimura" },     { "林", "hayashi" },    { "斎藤", "saito" },     { "清水", "shimizu" },
    { "山崎", "yamazaki" },   { "森", "mori" },       { "池田", "ikeda" },     { "橋本", "hashimoto" },
    { "阿部", "abe" },        { "石川", "ishikawa" }, { "前田", "maeda" },     { "藤田", "fujita" },
    { "小川", "ogawa" },      { "岡田", "okada" },    { "後藤", "goto" },      { "長谷川", "hasegawa" },
    { "村上", "murakami" },   { "近藤", "kondo" },    { "石井", "ishii" },     { "坂本", "sakamoto" },
    { "遠藤", "endo" },       { "青木", "aoki" },     { "藤井", "fujii" },     { "西村", "nishimura" },
};

static const jword ja_given[] = {
    { "翔太", "shota" },  { "大輔", "daisuke" }, { "健太", "kenta" },  { "拓也", "takuya" },
    { "直樹", "naoki" },  { "亮", "ryo" },       { "誠", "makoto" },   { "悠斗", "yuto" },
    { "蓮", "ren" },      { "大翔", "hiroto" },  { "湊", "minato" },   { "浩二", "koji" },
    { "隆", "takashi" },  { "和也", "kazuya" },  { "剛", "tsuyoshi" }, { "修", "osamu" },
    { "結衣", "yui" },    { "陽菜", "hina" },    { "美咲", "misaki" }, { "さくら", "sakura" },
    { "葵", "aoi" },      { "真由美", "mayumi" }, { "恵", "megumi" },  { "由美", "yumi" },
    { "彩", "aya" },      { "愛", "ai" },        { "優子", "yuko" },   { "香織", "kaori" },
    { "麻衣", "mai" },    { "千尋", "chihiro" }, { "明美", "akemi" },  { "奈々", "nana" },
};

static const char *const en_first[] = {
    "Emily",  "James",   "Olivia", "Michael", "Sophie", "Daniel", "Emma",    "David",  "Grace",
    "Thomas", "Hannah",  "Ryan",   "Chloe",   "Lucas",  "Mia",    "Noah",    "Laura",  "Ethan",
    "Anna",   "Jacob",   "Sarah",  "Liam",    "Julia",  "Adam",   "Priya",   "Raj",    "Wei",
    "Mei",    "Carlos",  "Sofia",  "Lars",    "Ingrid", "Pierre", "Camille", "Marco",  "Giulia",
    "Ahmed",  "Fatima",  "Jonas",  "Lena",    "Oliver", "Amelia", "Samuel",  "Zoe",    "Nathan",
};

static const char *const en_last[] = {
    "Clark",  "Wilson",  "Brown",   "Smith",  "Johnson", "Lee",     "Walker",  "Hall",    "Young",
    "King",   "Wright",  "Lopez",   "Hill",   "Scott",   "Green",   "Adams",   "Baker",   "Nelson",
    "Carter", "Mitchell", "Perez",  "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans",
    "Murphy", "Novak",   "Schmidt", "Muller", "Rossi",   "Dubois",  "Jensen",  "Patel",   "Chen",
    "Tan",    "Nguyen",  "Garcia",  "Silva",  "Kowalski", "Berg",   "O'Brien", "Fischer", "Moreau",
};

int kz_demo_person(kz_buf *name, kz_buf *email_local, kz_rng *r, int japanese)
{
    int rc;
    if (japanese) {
        const jword *f = &ja_family[kz_rng_range(r, 0, N_(ja_family) - 1)];
        const jword *g = &ja_given[kz_rng_range(r, 0, N_(ja_given) - 1)];
        rc = kz_buf_printf(name, "%s %s", f->ja, g->ja);
        if (!rc)
            rc = kz_buf_printf(email_local, "%s.%s", g->ro, f->ro);
        return rc;
    }
    const char *first = PICK(r, en_first), *last = PICK(r, en_last);
    rc = kz_buf_printf(name, "%s %s", first, last);
    if (!rc)
        rc = put_domain_word(email_local, first);
    if (!rc)
        rc = kz_buf_putc(email_local, '.');
    if (!rc)
        rc = put_domain_word(email_local, last);
    return rc;
}

/* ---- tickets ------------------------------------------------------------- */

/* Product features as customers name them: English (mid-sentence and
 * capitalised), whether it takes a plural verb, and Japanese. */
typedef struct feature {
    const char *en, *en_cap;
    int plural;
    const char *ja;
} feature;

static const feature features[] = {
    { "CSV export", "CSV export", 0, "CSVエクスポート" },
    { "the report builder", "The report builder", 0, "レポート作成" },
    { "the dashboard", "The dashboard", 0, "ダッシュボード" },
    { "date filters", "Date filters", 1, "日付フィルター" },
    { "alert e-mails", "Alert e-mails", 1, "アラート通知" },
    { "the Salesforce sync", "The Salesforce sync", 0, "Salesforce連携" },
    { "data import", "Data import", 0, "データインポート" },
    { "the API", "The API", 0, "API" },
    { "single sign-on", "Single sign-on", 0, "シングルサインオン" },
    { "scheduled reports", "Scheduled reports", 1, "定期レポート配信" },
    { "search", "Search", 0, "検索" },
    { "user invitations", "User invitations", 1, "ユーザー招待" },
};

/* Fills a template: %s the feature or team, %S the same capitalised, %v "is"
 * or "are" to agree with it, %d the number. Templates are data, so they do not
 * go through printf. */
typedef struct slots {
    const char *s, *cap;
    int plural, num;
} slots;

static int fill(kz_buf *b, const char *t, const slots *x)
{
    int rc = 0;
    const char *p = t;
    while (!rc && *p) {
        const char *q = strchr(p, '%');
        if (!q)
            return kz_buf_puts(b, p);
        rc = kz_buf_append(b, p, (size_t)(q - p));
        if (rc)
            break;
        switch (q[1]) {
        case 's': rc = kz_buf_puts(b, x->s); break;
        case 'S': rc = kz_buf_puts(b, x->cap); break;
        case 'v': rc = kz_buf_puts(b, x->plural ? "are" : "is"); break;
        case 'd': rc = kz_buf_printf(b, "%d", x->num); break;
        default: rc = kz_buf_append(b, q, q[1] ? 2 : 1); break;
        }
        p = q[1] ? q + 2 : q + 1;
    }
    return rc;
}

/* A subject and the first sentence of its body; first_steps marks the ones
 * that suit a new customer. */
typedef struct pair {
    const char *subject, *body;
    int first_steps;
} pair;

static const pair en_functional[] = {
    { "Export to CSV fails with an error", "When I click Export on the monthly report, the page shows \"Export failed (code %d)\".", 0 },
    { "How do I filter a report by date?", "I want to see only last month's deals in a report, but I cannot find where to set the date range.", 1 },
    { "%S fails with an error", "When I use %s, the page shows \"Something went wrong (code %d)\".", 0 },
    { "%S %v very slow", "%S %v taking more than a minute to load since yesterday.", 0 },
    { "%S shows wrong numbers", "The totals we get from %s do not match our CRM, by about %d records.", 0 },
    { "Error %d when using %s", "Since this morning, %s returns error %d for everyone on our team.", 0 },
    { "Cannot log in after password reset", "I reset my password, but the login page keeps saying \"Invalid credentials\".", 0 },
    { "%S stopped working", "%S worked fine last week, but since the update nothing happens when I use it.", 0 },
    { "Bug: my changes to %s are not saved", "I change the settings of %s and click Save, but after reloading the old values are back.", 0 },
    { "Where is the setting for %s?", "I cannot find where %s is configured; the menu in the help article does not exist for me.", 1 },
    { "How do I use %s?", "Could you explain step by step how %s is supposed to work?", 1 },
    { "How do I add users to our account?", "We hired %d people and I cannot find how to invite them.", 1 },
    { "How do I set up %s?", "I am new to the product and do not understand the options of %s.", 1 },
};

static const pair en_operational[] = {
    { "Rolling out to the %s", "We are planning to roll the platform out to the %s next quarter.", 1 },
    { "Which KPIs should we track?", "Our leadership asks which numbers show that the platform pays off for the %s.", 0 },
    { "Best practices for onboarding new users", "New people in the %s take weeks before they use the platform on their own.", 1 },
    { "How should we structure dashboards for our managers?", "Every manager in the %s builds their own dashboards and nobody agrees on the numbers.", 0 },
    { "Getting the %s to adopt the product", "Adoption in the %s is lower than we hoped.", 0 },
    { "Planning training for new hires", "The %s hires %d people next month and we want them productive in their first week.", 0 },
    { "Reviewing our success plan", "It has been six months since the kick-off and we want to check the goals we set for the %s.", 0 },
    { "Reporting ROI to our leadership", "Our leadership asked how the %s uses the platform day to day and what it brings.", 0 },
    { "Advice on our rollout plan", "We are reorganising the %s and want to change how we work with the platform.", 1 },
    { "How do other customers get started?", "We just signed and want the %s to start the right way.", 1 },
};

static const pair ja_functional[] = {
    { "ログインできない", "パスワードを入力しても「認証に失敗しました」と表示され、ログインできません。", 0 },
    { "エラーが表示される", "%sを開くと「エラーが発生しました（コード%d）」と表示されます。", 0 },
    { "%sでエラーが発生します", "今朝から%sでエラーが出て、チーム全員が作業できません。", 0 },
    { "%sが動作しません", "先週までは問題なく使えていた%sが、更新後から反応しなくなりました。", 0 },
    { "%sの表示が遅い", "%sの表示に1分以上かかるようになりました。", 0 },
    { "%sの数値が合わない", "%sの集計結果がCRMの数値と%d件ほど一致しません。", 0 },
    { "パスワードを再設定できません", "再設定メールのリンクを開くと「リンクの有効期限が切れています」と表示されます。", 0 },
    { "CSVエクスポートが失敗する", "月次レポートをCSVでエクスポートしようとすると途中でエラー（コード%d）になります。", 0 },
    { "日付でレポートを絞り込む方法", "先月分だけをレポートに表示したいのですが、期間の指定方法がわかりません。", 1 },
    { "%sの使い方を教えてください", "%sの操作方法がヘルプページを見てもわかりませんでした。", 1 },
    { "%sの設定方法について", "導入したばかりで、%sの設定項目の意味がわかりません。", 1 },
    { "ユーザーの追加方法を教えてください", "新しく配属された%d名を招待したいのですが、方法がわかりません。", 1 },
};

static const pair ja_operational[] = {
    { "社内展開の進め方", "来期から%sでも利用を始める予定です。", 1 },
    { "活用方法の相談", "%sでの利用が思うように定着していません。", 0 },
    { "%sへの展開について", "来期から%sでも利用を始める予定で、進め方を相談したいです。", 1 },
    { "KPI設計の相談", "%sでの効果を示すためにどの指標を追うべきか、経営層から問われています。", 0 },
    { "定着化のための施策について", "%sでログインする人が減ってきています。", 0 },
    { "新任担当者向けトレーニングの相談", "来月%sに%d名が配属されるため、早く使えるようにしたいと考えています。", 0 },
    { "経営会議向けの活用事例を知りたい", "経営層から%sでの活用状況を報告するよう求められています。", 0 },
    { "導入初期の進め方について", "契約したばかりで、%sで何から始めればよいか迷っています。", 1 },
    { "オンボーディング計画の相談", "%sでの最初の30日間の展開計画を立てたいと考えています。", 1 },
};

static const char *const en_teams[] = {
    "sales team", "marketing team", "support team", "finance team", "whole company",
    "new regional office", "operations team", "management team",
};

static const char *const ja_teams[] = {
    "営業部", "マーケティング部", "カスタマーサポート部", "経営企画部", "全社", "新拠点", "管理部門",
};

static const char *const en_goals[] = {
    "cut the time spent on monthly reporting in half",
    "give every manager a weekly view of the pipeline",
    "replace our spreadsheets by the end of the quarter",
    "show leadership the impact on renewals",
    "get every rep to log in at least three times a week",
};

static const char *const ja_goals[] = {
    "月次レポートの作成時間を半分にする",
    "マネージャー全員が毎週パイプラインを確認できるようにする",
    "今期中にExcelでの管理をやめる",
    "経営層に更新率への効果を示す",
    "営業担当者全員に週3回以上ログインしてもらう",
};

static const char *const en_tails[] = {
    "Is this a known bug?", "Could you look into it?", "We need it working before Friday.",
    "Screenshots are attached.", "Please advise.", "Thanks in advance.",
};

static const char *const en_how_tails[] = {
    "I could not find it in the help center.", "Thanks in advance.", "A link to a guide would be great.",
};

static const char *const en_asks[] = {
    "Could we get advice on how other customers set this up?",
    "Could we schedule a session with our CSM?",
    "What would you recommend as a first step?",
    "Do you have a template or a playbook for this?",
};

static const char *const ja_tails[] = {
    "既知の不具合でしょうか。", "ご確認をお願いいたします。", "至急ご対応いただけますと幸いです。",
    "スクリーンショットを添付します。", "よろしくお願いいたします。",
};

static const char *const ja_asks[] = {
    "他社様の進め方を教えていただけますか。",
    "担当のCSMの方と打ち合わせの機会をいただけますか。",
    "まず何から始めればよいかご助言ください。",
    "参考になるテンプレートがあれば共有いただけますか。",
};

/* Draws a pair, preferring first-steps questions during onboarding. */
static const pair *pick_pair(kz_rng *r, const pair *list, int n, int onboarding)
{
    const pair *p = &list[kz_rng_range(r, 0, n - 1)];
    if (onboarding && !p->first_steps && kz_rng_bern(r, 0.5))
        p = &list[kz_rng_range(r, 0, n - 1)];
    return p;
}

int kz_demo_ticket_text(kz_buf *subject, kz_buf *body, kz_rng *r, int category, int lang, int onboarding)
{
    static const int codes[] = { 500, 502, 403, 404, 408, 409, 422, 429, 503, 504 };
    int ja = lang == KZ_DEMO_JA, rc;
    const pair *p;
    slots x;

    if (category == KZ_DEMO_FUNCTIONAL) {
        const feature *f = &features[kz_rng_range(r, 0, N_(features) - 1)];
        x.s = ja ? f->ja : f->en;
        x.cap = ja ? f->ja : f->en_cap;
        x.plural = f->plural;
        p = ja ? pick_pair(r, ja_functional, N_(ja_functional), onboarding)
               : pick_pair(r, en_functional, N_(en_functional), onboarding);
        x.num = p->first_steps ? (int)kz_rng_range(r, 2, 9) : codes[kz_rng_range(r, 0, N_(codes) - 1)];
    } else {
        x.s = x.cap = ja ? PICK(r, ja_teams) : PICK(r, en_teams);
        x.plural = 0;
        x.num = (int)kz_rng_range(r, 2, 12);
        p = ja ? pick_pair(r, ja_operational, N_(ja_operational), onboarding)
               : pick_pair(r, en_operational, N_(en_operational), onboarding);
    }
    rc = fill(subject, p->subject, &x);
    if (!rc)
        rc = fill(body, p->body, &x);
    if (rc)
        return rc;
    /* a second paragraph now and then, as e-mails have */
    const char *sep = kz_rng_bern(r, 0.15) ? "\n\n" : ja ? "" : " ";
    if (category == KZ_DEMO_OPERATIONAL) {
        rc = ja ? kz_buf_printf(body, "目標は%sことです。", PICK(r, ja_goals))
                : kz_buf_printf(body, " Our goal is to %s.", PICK(r, en_goals));
        if (!rc)
            rc = kz_buf_printf(body, "%s%s", sep, ja ? PICK(r, ja_asks) : PICK(r, en_asks));
        return rc;
    }
    const char *tail = ja ? PICK(r, ja_tails) : p->first_steps ? PICK(r, en_how_tails) : PICK(r, en_tails);
    return kz_buf_printf(body, "%s%s", sep, tail);
}

/* ---- NPS comments -------------------------------------------------------- */

int kz_demo_nps_comment(kz_buf *out, kz_rng *r, int score, int lang)
{
    static const char *const en[3][6] = {
        { "Great product, our team uses it every day.", "Support is fast and really helpful.",
          "The dashboards save us hours every week.", "Easy to roll out, and the reports are exactly what we needed.",
          "Our CSM is fantastic, thank you!", "It has become part of how we run the business." },
        { "Good overall, but some reports are slow.", "Useful, though the pricing is a bit high.",
          "Works well; we would like more integrations.", "Fine for us, but the learning curve was steep.",
          "Does the job. The mobile view could be better.", "Solid, but exports sometimes time out." },
        { "Too many bugs lately, and tickets take days to resolve.",
          "We hardly use it anymore; it never fit our workflow.",
          "The exports keep failing and nobody follows up.", "Too expensive for what we get.",
          "Our open issues have been waiting for weeks.", "Hard to use, and the team went back to spreadsheets." },
    };
    static const char *const ja[3][6] = {
        { "毎日チームで活用しています。", "サポートの対応が早くて助かっています。",
          "レポート作成の時間が大幅に減りました。", "導入がスムーズで、欲しかったレポートがすぐに作れました。",
          "担当CSMの方の支援に感謝しています。", "業務に欠かせないツールになりました。" },
        { "全体的には満足ですが、動作が重いことがあります。", "便利ですが、価格がやや高いと感じます。",
          "連携先がもっと増えると嬉しいです。", "慣れるまでに時間がかかりました。",
          "概ね問題ありませんが、エクスポートが時々失敗します。", "使いやすいですが、スマホ表示を改善してほしいです。" },
        { "不具合が多く、問い合わせの回答も遅いです。", "社内で定着せず、ほとんど使われていません。",
          "費用に見合う効果が感じられません。", "問い合わせが何週間も解決していません。",
          "操作が難しく、結局Excelに戻ってしまいました。", "エラーが頻発して業務に支障が出ています。" },
    };
    int band = score >= 9 ? 0 : score >= 7 ? 1 : 2;
    int i = (int)kz_rng_range(r, 0, 5);
    return kz_buf_puts(out, lang == KZ_DEMO_JA ? ja[band][i] : en[band][i]);
}

/* ---- CSM activities ------------------------------------------------------ */

typedef struct topic_text {
    const char *en_subject[3], *en_body[3];
    const char *ja_subject[3], *ja_body[3];
} topic_text;

static const topic_text topics[KZ_DEMO_NTOPICS] = {
    [KZ_DEMO_T_KICKOFF] = {
        { "Kick-off meeting", "Onboarding kick-off", "Kick-off: success plan" },
        { "Agreed the success criteria and the rollout plan for the first 30 days.",
          "Introduced the team, reviewed goals, set up the admin account together.",
          "Walked through the success plan; next step is admin training." },
        { "キックオフミーティング", "導入キックオフ", "キックオフ：サクセスプランの確認" },
        { "成功の定義と最初の30日間の展開計画を合意しました。",
          "体制の紹介、目標の確認、管理者アカウントの設定を一緒に行いました。",
          "サクセスプランを確認し、次回は管理者向けトレーニングを実施します。" } },
    [KZ_DEMO_T_WELCOME] = {
        { "Welcome aboard: your first steps", "Getting started checklist", "Your first week with the platform" },
        { "Here are the three things to set up first: users, your first dashboard and a weekly report.",
          "A short checklist to get your team productive in the first week.",
          "Links to the getting-started guide and our onboarding webinar." },
        { "ご利用開始のご案内", "はじめに設定いただきたいこと", "最初の1週間のご案内" },
        { "最初に設定いただきたい3つの項目（ユーザー、ダッシュボード、週次レポート）をご案内します。",
          "最初の1週間で活用を始めるためのチェックリストをお送りします。",
          "スタートガイドとオンボーディングウェビナーのご案内です。" } },
    [KZ_DEMO_T_CHECKIN] = {
        { "Checking in on your rollout", "Monthly check-in", "Tips for your team" },
        { "Asked how the rollout is going and offered a training session for new users.",
          "Reviewed usage over the last month and the open questions.",
          "Shared tips on filters and scheduled reports that similar teams use." },
        { "ご利用状況の確認", "定例のご連絡", "活用のヒントのご紹介" },
        { "展開の状況を伺い、新しいユーザー向けのトレーニングをご提案しました。",
          "先月の利用状況と未解決のご質問を確認しました。",
          "同じ業種のお客様がよく使うフィルターと定期レポートをご紹介しました。" } },
    [KZ_DEMO_T_QBR] = {
        { "Quarterly business review", "QBR", "Quarterly review of goals" },
        { "Reviewed adoption, outcomes against the success plan and goals for next quarter.",
          "Presented usage trends and ROI; agreed three goals for the next quarter.",
          "Executive sponsor attended; discussed expansion to another team." },
        { "四半期ビジネスレビュー", "QBR（四半期レビュー）", "四半期の目標確認" },
        { "利用状況、サクセスプランに対する成果、次四半期の目標を確認しました。",
          "利用傾向と投資対効果を報告し、次四半期の目標を3つ合意しました。",
          "役員の方にもご出席いただき、他部署への展開について話し合いました。" } },
    [KZ_DEMO_T_RENEWAL] = {
        { "Your upcoming renewal", "Renewal planning", "Renewal: next steps" },
        { "Reminder of the renewal date and a summary of what was achieved this term.",
          "Discussed the renewal, the number of seats and goals for the next term.",
          "Sent the renewal quote and offered a review meeting." },
        { "契約更新のご案内", "契約更新に向けたご相談", "契約更新の手続きについて" },
        { "更新日のご案内と、今期の成果のまとめをお送りしました。",
          "更新にあたり、ライセンス数と次期の目標についてご相談しました。",
          "更新のお見積りをお送りし、振り返りの打ち合わせをご提案しました。" } },
    [KZ_DEMO_T_DETRACTOR] = {
        { "Follow-up on your NPS feedback", "About your survey answer", "Your feedback" },
        { "Called to understand the low score; main issues are performance and open tickets.",
          "Listened to the concerns behind the survey answer and agreed an action plan.",
          "Discussed the feedback; promised a follow-up with the product team." },
        { "アンケート回答へのフォローアップ", "NPS回答についてのご連絡", "ご意見へのお礼とご相談" },
        { "低いスコアの理由を伺いました。主な不満は動作速度と未解決の問い合わせです。",
          "アンケートのご意見の背景を伺い、対応計画を合意しました。",
          "いただいたご意見を製品チームと共有し、改めてご連絡すると約束しました。" } },
    [KZ_DEMO_T_ESCALATION] = {
        { "Escalated ticket follow-up", "Follow-up on your support case", "Update on the open issue" },
        { "Called about the escalated ticket; shared the workaround and the fix timeline.",
          "Apologised for the delay on the support case and agreed next steps.",
          "Reviewed the open issue with the customer and support engineering." },
        { "エスカレーション案件のフォロー", "お問い合わせ対応のご連絡", "未解決の問題について" },
        { "エスカレーションされた問い合わせについて回避策と修正予定をご説明しました。",
          "対応の遅れをお詫びし、今後の進め方を合意しました。",
          "サポートエンジニアと一緒に未解決の問題を確認しました。" } },
    [KZ_DEMO_T_QUESTION] = {
        { "Question about reports", "Quick question", "Training for new users?" },
        { "Customer asked whether we offer training for the new hires next month.",
          "Customer asked how other teams structure their dashboards.",
          "Question about adding users and changing the plan." },
        { "レポートについての質問", "ご質問", "新任者向けトレーニングについて" },
        { "来月入社の方向けのトレーニングがあるかお問い合わせがありました。",
          "他社様のダッシュボードの構成についてご質問をいただきました。",
          "ユーザーの追加とプラン変更についてご質問をいただきました。" } },
    [KZ_DEMO_T_CANCEL] = {
        { "Considering cancelling our subscription", "Budget review", "Not renewing?" },
        { "Customer says usage dropped and the budget is under review; may cancel.",
          "Customer asked about the cancellation terms.",
          "Customer is evaluating a cheaper tool." },
        { "解約の検討について", "予算見直しのご連絡", "契約継続についてのご相談" },
        { "利用が減っており予算を見直しているため、解約を検討しているとのことです。",
          "解約条件についてお問い合わせがありました。",
          "より安価なツールを検討しているとのことです。" } },
    [KZ_DEMO_T_NEWSLETTER] = {
        { "Product update: what is new this month", "New: scheduled reports", "Webinar invitation" },
        { "Monthly product update with new features and tips.",
          "Announcement of scheduled reports and how to set them up.",
          "Invitation to the monthly best-practice webinar." },
        { "製品アップデートのお知らせ", "新機能：定期レポート配信", "ウェビナーのご案内" },
        { "今月の新機能と活用のヒントをお届けします。",
          "定期レポート配信機能の公開と設定方法のご案内です。",
          "月例の活用ウェビナーのご案内です。" } },
    [KZ_DEMO_T_EXPANSION] = {
        { "Adding seats", "Plan upgrade", "Expanding to another team" },
        { "Customer wants more seats for a new team.",
          "Discussed moving to a higher plan for the advanced reports.",
          "Another department wants to start using the platform." },
        { "ライセンス追加のご相談", "プランアップグレードのご相談", "他部署への展開" },
        { "新しいチーム向けにライセンスを追加したいとのご相談です。",
          "高度なレポート機能のため上位プランへの変更をご相談しました。",
          "別の部署でも利用を始めたいとのご相談です。" } },
    [KZ_DEMO_T_NOTE_GOOD] = {
        { "Account note", "Notes: going well", "Notes" },
        { "Strong adoption; the champion presented results to their leadership.",
          "Customer is happy with the dashboards; potential for expansion.",
          "Usage growing steadily; no open issues." },
        { "アカウントメモ", "メモ：順調", "メモ" },
        { "活用が進んでおり、推進担当者が経営層に成果を報告しました。",
          "ダッシュボードに満足しており、拡大の可能性があります。",
          "利用は順調に増えており、未解決の課題はありません。" } },
    [KZ_DEMO_T_NOTE_RISK] = {
        { "Risk note", "Notes: at risk", "Notes: usage down" },
        { "Usage has dropped for several weeks; the champion seems less involved.",
          "Open support issues are hurting the relationship; follow up weekly.",
          "Budget pressure mentioned; renewal at risk." },
        { "リスクメモ", "メモ：解約リスクあり", "メモ：利用減少" },
        { "数週間にわたって利用が減っており、推進担当者の関与も薄れています。",
          "未解決の問い合わせが関係に影響しています。毎週フォローします。",
          "予算の圧迫について言及あり。更新がリスクです。" } },
    [KZ_DEMO_T_NOTE_PLAIN] = {
        { "Call notes", "Meeting notes", "Notes" },
        { "Discussed the agenda items; no action needed from our side.",
          "Customer shared their priorities for next month.",
          "Updated the contact list and the success plan." },
        { "通話メモ", "議事メモ", "メモ" },
        { "議題について話し合いました。当社側の対応は不要です。",
          "来月の優先事項を共有いただきました。",
          "連絡先とサクセスプランを更新しました。" } },
};

int kz_demo_activity_text(kz_buf *subject, kz_buf *body, kz_rng *r, int topic, int lang)
{
    if (topic < 0 || topic >= KZ_DEMO_NTOPICS)
        topic = KZ_DEMO_T_NOTE_PLAIN;
    const topic_text *t = &topics[topic];
    int i = (int)kz_rng_range(r, 0, 2), j = (int)kz_rng_range(r, 0, 2);
    int rc = kz_buf_puts(subject, lang == KZ_DEMO_JA ? t->ja_subject[i] : t->en_subject[i]);
    if (!rc)
        rc = kz_buf_puts(body, lang == KZ_DEMO_JA ? t->ja_body[j] : t->en_body[j]);
    return rc;
}
