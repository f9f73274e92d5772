"""The report's stylesheet, inlined into the page: light, system fonts, no web fonts."""

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
svg.plot text.none { fill: #9ca3af; font-style: italic; }
svg.plot text.change-label, svg.plot text.value { paint-order: stroke; stroke: #fff;
  stroke-width: 3px; stroke-linejoin: round; }
.grid line { stroke: #eceef1; stroke-width: 1; }
.grid line.zero, line.baseline { stroke: #9ca3af; }
.lane { stroke: #e5e7eb; stroke-dasharray: 2 3; }
.area { fill-opacity: .82; }
.total { stroke-width: 1.3; stroke-linejoin: round; }
.total.thin { stroke-width: .9; }
.tier-line { stroke-width: 2.5; stroke-linejoin: round; }
.resets line { stroke-width: 1; stroke-dasharray: 4 3; }
.reset-target { stroke: transparent; stroke-width: 7; }
.reset-target:hover { stroke: rgba(107, 114, 128, .35); }
rect.day { fill: transparent; }
rect.day:hover { fill: rgba(31, 41, 55, .08); }
rect.hit { fill: transparent; }
.bar:hover rect.hit { fill: rgba(31, 41, 55, .05); }
.bar:hover rect:not(.hit) { fill-opacity: .8; }
.topup:hover, .refusal:hover, .change:hover { stroke: var(--ink); stroke-width: 1.5; }
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
@media print { body { background: #fff; } section { break-inside: avoid; border: 0; padding: 0; } }
"""
