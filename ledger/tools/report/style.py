"""The report's palette and stylesheet, inlined into the page: light, system fonts,
no web fonts. The compare page (``ledger.tools.decide.chart``) shares both."""

# Okabe & Ito's colour-blind-safe palette; each colour keeps one meaning.
PLAN = "#0072B2"  # web plan credits (blue)
PURCHASED = "#E69F00"  # web purchased credits (orange)
API_CREDITS = "#009E73"  # API credits (bluish green)
TOPUP = "#CC79A7"  # credits bought (reddish purple)
REFUSED = "#D55E00"  # refusals, failed charges, forfeits (vermillion)
SKY = "#56B4E9"  # sky blue
SKY_INK = "#2a7fb0"  # editors (seats): a darker sky blue, legible on white
INK = "#1f2937"  # totals, plan and tier changes
RESET = "#6b7280"  # reset (billing) days
SERIES = (PLAN, REFUSED, API_CREDITS, PURCHASED, TOPUP, SKY, "#000000", "#F0E442")

CSS = """
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f5f6f8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 system-ui,
  -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1160px; margin: 0 auto; padding: 28px 24px 36px; }
header h1 { font-size: 26px; line-height: 1.2; margin: 0 0 6px; }
.kicker { margin: 0; color: var(--muted); font-size: 13px; letter-spacing: .06em;
  text-transform: uppercase; }
.meta { margin: 0; color: var(--muted); font-size: 14px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 20px 24px 22px; margin-top: 20px; }
h2 { font-size: 20px; margin: 0 0 12px; }
h2 .surface { font-size: 14px; font-weight: 500; color: var(--muted); margin-left: 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .label { font-size: 13px; color: var(--muted); }
figure { margin: 24px 0 0; }
figcaption h3 { font-size: 16px; margin: 0; }
figcaption p { margin: 2px 0 6px; font-size: 13px; color: var(--muted); max-width: 80ch; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 13px; color: #374151;
  margin: 6px 0 2px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
svg.plot { display: block; width: 100%; height: auto; }
svg.plot text { font-size: 12px; fill: #4b5563; font-variant-numeric: tabular-nums; }
svg.plot text.year { fill: #9ca3af; }
svg.plot text.value { fill: var(--ink); font-size: 11.5px; }
svg.plot text.axis-title { fill: var(--muted); }
svg.plot text.lane-label { fill: var(--ink); }
svg.plot text.change-label { fill: var(--ink); font-size: 12px; }
svg.plot text.count { font-size: 10.5px; fill: var(--ink); font-weight: 600; }
svg.plot text.none { fill: #9ca3af; font-style: italic; }
svg.plot text.change-label, svg.plot text.value { paint-order: stroke; stroke: #fff;
  stroke-width: 3px; stroke-linejoin: round; }
.grid line { stroke: #eceef1; stroke-width: 1; }
.grid line.zero, line.baseline { stroke: #9ca3af; }
.lane { stroke: #e5e7eb; stroke-dasharray: 2 3; }
.area { fill-opacity: .82; }
.total { stroke-width: 1.3; stroke-linejoin: round; }
.total.thin { stroke-width: .9; }
.total.average { stroke-width: 1.6; }
.area.comb { fill-opacity: .45; }
.lane-marks .bin:hover rect { stroke-width: 2; }
.tier-line { stroke-width: 2.5; stroke-linejoin: round; }
.resets line { stroke-width: 1; stroke-dasharray: 4 3; }
.reset-target { stroke: transparent; stroke-width: 7; }
.reset-target:hover { stroke: rgba(107, 114, 128, .35); }
rect.day { fill: transparent; }
rect.day:hover { fill: rgba(31, 41, 55, .08); }
rect.hit { fill: transparent; }
.bar:hover rect.hit { fill: rgba(31, 41, 55, .05); }
.bar:hover rect:not(.hit) { fill-opacity: .8; }
.topup:hover, .refusal:hover, .change:hover, .seat:hover { stroke: var(--ink); stroke-width: 1.5; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px;
  font-variant-numeric: tabular-nums; }
th, td { padding: 7px 8px; border-bottom: 1px solid var(--line); text-align: right; }
td { white-space: nowrap; }
th { font-weight: 600; font-size: 13px; line-height: 1.3; color: var(--muted);
  vertical-align: bottom; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
tbody tr:hover { background: #f9fafb; }
a { color: #0072B2; }
.note { margin: 6px 0 0; font-size: 14px; color: var(--muted); }
.notes { margin: 16px 0 0; padding-left: 20px; font-size: 14px; color: #374151; }
footer p { margin: 20px 0 0; font-size: 13px; color: var(--muted); }
.basis-input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
.basis-switch { display: inline-flex; margin: 8px 0 2px; border: 1px solid #d1d5db;
  border-radius: 6px; overflow: hidden; font-size: 13px; }
.basis-switch label { padding: 4px 12px; cursor: pointer; color: #374151; }
.basis-switch label + label { border-left: 1px solid #d1d5db; }
.basis-cash:checked ~ .basis-switch label.cash,
.basis-accrual:checked ~ .basis-switch label.accrual { background: var(--ink); color: #fff; }
.basis-input:focus-visible ~ .basis-switch { outline: 2px solid #0072B2; outline-offset: 2px; }
.basis.accrual, .basis-accrual:checked ~ .basis.cash { display: none; }
.basis-accrual:checked ~ .basis.accrual { display: block; }
table.monthly { font-size: 13px; }
table.monthly th[scope=row] { text-align: left; font-weight: 600; color: var(--ink);
  font-size: 13px; white-space: nowrap; }
table.monthly td:nth-child(2) { text-align: left; white-space: normal; }
table.monthly tr.total th, table.monthly tr.total td { font-weight: 650;
  border-top: 2px solid #d1d5db; }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  section { border: 0; padding: 0; margin-top: 14px; }
  figure { break-inside: avoid; }
  .cards { grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 6px; }
  .card .value { font-size: 16px; }
  table, table.monthly { font-size: 9.5px; }
  th, td { padding: 3px 3px; }
  th, table.monthly th[scope=row] { font-size: 9.5px; }
  td { white-space: normal; }
  .table-wrap { overflow: visible; }
  .basis-switch { display: none; }
}
"""
