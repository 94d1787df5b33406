// chart.tsx - uPlot charts: a line or bar chart with axes and a legend, and
// a sparkline (no axes). The chart follows its box's width. Each chart has a
// text alternative (label) for screen readers.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
  bars?: boolean;
  dash?: number[];
  fill?: string;
}

interface ChartProps {
  label: string;
  x: number[]; // seconds since 1970
  unit?: "day" | "month"; // how the time axis and the legend show x
  series: Series[];
  height?: number;
  yFormat?: (v: number) => string;
  band?: { low: (number | null)[]; high: (number | null)[]; color: string };
}

export function Chart({ label, x, series, height = 240, yFormat, band, unit = "month" }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const { t } = useI18n();
  const { fmt } = useSession();
  useEffect(() => {
    /* dates in the reader's language, in UTC (the API's days and months) */
    const dates = new Intl.DateTimeFormat(fmt.locale, {
      timeZone: "UTC",
      ...(unit === "day" ? { month: "short", day: "numeric" } : { year: "numeric", month: "short" }),
    });
    const when = (v: number) => dates.format(new Date(v * 1000));
    const el = box.current;
    if (!el) return;
    const all: Series[] = band
      ? [
          { label: t("chart.low"), color: "transparent", values: band.low },
          { label: t("chart.high"), color: "transparent", values: band.high },
          ...series,
        ]
      : series;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      series: [
        { label: t(unit === "day" ? "chart.day" : "chart.month"), value: (_u: uPlot, v: number | null) => (v === null ? "—" : when(v)) },
        ...all.map((s, i) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash,
          fill: s.fill ?? (s.bars ? `${s.color}cc` : undefined),
          show: !(band && i < 2 && false),
          paths: s.bars ? uPlot.paths.bars!({ size: [0.6, 40] }) : undefined,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? "—" : yFormat ? yFormat(v) : String(v)),
        })),
      ],
      bands: band ? [{ series: [2, 1], fill: band.color }] : undefined,
      /* months: a tick per data point, and half a month of room at each end for the bars */
      scales:
        unit === "month"
          ? { x: { time: true, range: (_u, min, max) => [min - 15 * 86400, max + 15 * 86400] } }
          : undefined,
      axes: [
        { values: (_u, vals) => vals.map((v) => when(v)), splits: unit === "month" ? () => x : undefined },
        { values: (_u, vals) => vals.map((v) => (yFormat ? yFormat(v) : String(v))), size: 70 },
      ],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    const plot = new uPlot(opts, [x, ...all.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [x, series, height, yFormat, band, unit, t, fmt]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}

export function Sparkline({ label, values, color = "#2563eb" }: { label: string; values: number[]; color?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || values.length < 2) return;
    const x = values.map((_, i) => i);
    const plot = new uPlot(
      {
        width: 120,
        height: 32,
        series: [{}, { stroke: color, width: 1.5, points: { show: false } }],
        axes: [{ show: false }, { show: false }],
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false } },
      },
      [x, values],
      el,
    );
    return () => plot.destroy();
  }, [values, color]);
  return <div class="sparkline" ref={box} role="img" aria-label={label} />;
}
