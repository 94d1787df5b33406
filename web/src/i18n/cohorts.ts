// cohorts.ts - the strings of the cohorts page.
export const en = {
  "cohorts.title": "Cohorts",
  "cohorts.view": "Retention",
  "cohorts.view.logo": "Logo retention",
  "cohorts.view.revenue": "Revenue retention",
  "cohorts.heatmap": "Retention by signup month",
  "cohorts.caption.logo":
    "Share of each signup month's accounts still paying at the end of each month of life (month 0: the end of the signup month).",
  "cohorts.caption.revenue":
    "MRR of each signup month's accounts at the end of each month of life, over their MRR on their first day (above 100 % when expansion outweighs churn and contraction).",
  "cohorts.col.cohort": "Signup month",
  "cohorts.col.size": "Accounts",
  "cohorts.col.initial_mrr": "Initial MRR",
  "cohorts.col.months": "Months since signup",
  "cohorts.cell.logo": "{cohort}, month {k}: {retained} of {accounts} accounts still paying ({share})",
  "cohorts.cell.revenue": "{cohort}, month {k}: MRR {mrr} of an initial {initial} ({share})",
  "cohorts.legend": "Shades",
  "cohorts.legend.step": "{from} to {to}",
  "cohorts.none": "No cohort yet: no account has a paid subscription.",
  "cohorts.scroll": "Retention table (scrolls sideways)",
} as const;

export const ja: Record<keyof typeof en, string> = {
  "cohorts.title": "コホート",
  "cohorts.view": "継続率",
  "cohorts.view.logo": "顧客継続率",
  "cohorts.view.revenue": "売上継続率",
  "cohorts.heatmap": "契約開始月別の継続率",
  "cohorts.caption.logo":
    "契約開始月ごとに、経過月の末日時点で有料契約を続けている顧客の割合です（0 か月目は契約開始月の末日）。",
  "cohorts.caption.revenue":
    "契約開始月ごとに、経過月の末日時点の MRR を契約初日の MRR で割った値です（アップセルが解約・ダウングレードを上回ると 100% を超えます）。",
  "cohorts.col.cohort": "契約開始月",
  "cohorts.col.size": "顧客数",
  "cohorts.col.initial_mrr": "開始時 MRR",
  "cohorts.col.months": "契約開始からの経過月数",
  "cohorts.cell.logo": "{cohort}・{k} か月目: {accounts} 社中 {retained} 社が継続（{share}）",
  "cohorts.cell.revenue": "{cohort}・{k} か月目: 開始時 {initial} に対して MRR {mrr}（{share}）",
  "cohorts.legend": "色の凡例",
  "cohorts.legend.step": "{from}〜{to}",
  "cohorts.none": "コホートはまだありません（有料契約のある顧客がいません）。",
  "cohorts.scroll": "継続率の表（横にスクロールできます）",
};
