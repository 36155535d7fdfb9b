// The explorer's timelines: a ticket's clocks (POST /v1/tickets/evaluate, GET /v1/tickets/{id}) and a charge
// (POST /v1/charges), each drawn as rows along one time axis in the schedule's time zone, with the same words
// written out below the picture. Plain DOM and SVG; the API and the time helpers are explorer.js's.
"use strict";

(() => {
  const {api, NeedsToken, el, svg, wall, instantOf, addDays, longTime, zoneAbbreviation, dateLabel, pad,
         showProblem, clearProblem} = window.supportPolicyExplorer;
  const $ = (id) => document.getElementById(id);
  const MINUTE = 60000, DAY = 24 * 60 * MINUTE;
  const LONGEST = 28 * DAY;  // what one picture shows from its start; later marks are written out only
  const WEEKS = 5;  // of coverage asked for, for the schedules' open hours behind the rows

  // The bodies the examples send: as a ticketing system would, oldest event first.
  const TICKETS = {
    "harbor-waiting": {
      label: "Harbor County: a severity 2 outage, waiting for the customer",
      body: {request: {customer: "harbor-county", ticket_id: "HC-2031", received_at: "2026-11-23T10:00:00-08:00",
                       channel: "email", requester: {email: "cio@harbor-county.gov"}, category: "outage",
                       attributes: {severity: 2}},
             events: [{type: "status", at: "2026-11-23T10:05:00-08:00", status: "open"},
                      {type: "agent_reply", at: "2026-11-23T10:40:00-08:00"},
                      {type: "status", at: "2026-11-23T11:00:00-08:00", status: "pending_customer"},
                      {type: "status", at: "2026-11-23T12:30:00-08:00", status: "open"}],
             at: "2026-11-23T15:00:00-08:00"}},
    "demo-late": {
      label: "City of Demo: an e-mail answered late, the night between, escalated twice",
      body: {request: {customer: "demo-city", ticket_id: "T-2001", received_at: "2026-11-23T16:00:00-06:00",
                       channel: "email", requester: {email: "clerk@demo-city.gov"}, category: "application_error"},
             events: [{type: "status", at: "2026-11-23T16:05:00-06:00", status: "open"},
                      {type: "agent_reply", at: "2026-11-23T16:30:00-06:00", public: false},
                      {type: "agent_reply", at: "2026-11-24T10:30:00-06:00"}],
             at: "2026-11-24T11:00:00-06:00"}},
  };
  const CHARGES = {
    "demo-weeknight": {
      label: "City of Demo: a call at closing time, notice given after closing",
      body: {request: {customer: "demo-city", ticket_id: "T-3001", received_at: "2026-11-23T18:30:00-06:00",
                       channel: "phone", requester: {email: "it.director@demo-city.gov"}, category: "usage_question"},
             notice: {given_at: "2026-11-23T19:15:00-06:00", response: "accepted"},
             entries: [{entry_id: "w-1", start: "2026-11-23T18:35:00-06:00", end: "2026-11-23T20:00:00-06:00",
                        by: "agent@example.com", note: "Walked the clerk through the permit form"}]}},
    "demo-weekend": {
      label: "City of Demo: Saturday night work past midnight",
      body: {request: {customer: "demo-city", ticket_id: "T-1001", received_at: "2026-11-28T23:00:00-06:00",
                       channel: "phone", requester: {email: "it.director@demo-city.gov"}, category: "usage_question"},
             notice: {given_at: "2026-11-28T23:05:00-06:00", response: "accepted"},
             entries: [{entry_id: "w-1", start: "2026-11-28T23:10:00-06:00", end: "2026-11-29T00:40:00-06:00",
                        by: "agent@example.com", note: "Walked the webmaster through the page editor"}]}},
  };

  const STATES = {running: "running", paused: "paused", met: "met", breached: "breached",
                  not_started: "not started", not_applicable: "not a target of this request"};
  const STOPS = {first_public_agent_reply: "the first public agent reply", each_agent_reply: "an agent reply",
                 solved: "the ticket solved"};
  const REASONS = {charged: "charged", not_billable: "not billable, as the rules decide",
                   before_notice: "worked before the customer was told: not charged",
                   no_notice: "worked with no notice given: not charged",
                   declined: "worked after the customer declined: not charged", prepaid: "drawn from the prepaid block"};
  const PERIODS = {weeknight: "weeknight", weekend: "weekend", holiday: "holiday"};

  // ---- words ---------------------------------------------------------------------------------

  function words(coverage) {
    const labels = (coverage && coverage.labels) || {};
    const legend = (coverage && coverage.legend) || {};
    const label = (id) => (id === null || id === undefined ? "" : labels[id] || String(id).replace(/[_-]/g, " "));
    return {
      label,
      capital: (text) => text.charAt(0).toUpperCase() + text.slice(1),
      kind: (kind) => (legend[kind] ? legend[kind].label : label(kind)),
      period: (period) => (period === "business_hours" ? (legend.support_hours || {label: "Support hours"}).label
        : PERIODS[period] || label(period)),
      team: (team, via) => label(team) + (via ? ` via ${label(via)}` : ""),
    };
  }

  // "Mon 23 Nov 10:40 to 11:00 PST"; a stretch over midnight names both days.
  function range(from, to, zone) {
    const a = wall(from, zone), b = wall(to, zone);
    const day = (date) => dateLabel(date, {weekday: "short", day: "numeric", month: "short"});
    const end = b.date === a.date ? `${b.hh}:${b.mm}` : `${day(b.date)} ${b.hh}:${b.mm}`;
    return `${day(a.date)} ${a.hh}:${a.mm} to ${end} ${zoneAbbreviation(from, zone)}`;
  }

  function money(m) {
    return m ? `${m.amount} ${m.currency}` : "";
  }

  // ---- one picture for both: rows of bands, spans and marks along a time axis ----------------

  // The hours (or days) the axis names, at round wall-clock times in the zone.
  function ticks(from, to, zone) {
    const steps = [15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080];
    const step = steps.find((m) => (to - from) / (m * MINUTE) <= 12) || 10080;
    const found = [];
    let n = 0;
    for (let date = wall(from, zone).date; instantOf(date, "00:00", zone) <= to; date = addDays(date, 1), n++) {
      if (step > 1440 && n % (step / 1440)) continue;
      for (let m = 0; m < 1440; m += step) {
        const at = instantOf(date, `${pad(Math.floor(m / 60))}:${pad(m % 60)}`, zone);
        if (at < from || at > to) continue;
        found.push({at, day: m === 0, text: m === 0 ? dateLabel(date, {weekday: "short", day: "numeric",
          month: "short"}) : `${pad(Math.floor(m / 60))}:${pad(m % 60)}`});
      }
    }
    return found;
  }

  function mark(kind, cx, mid) {
    if (kind.startsWith("warning")) return svg("path", {d: `M${cx},${mid - 9} L${cx + 7},${mid + 5} L${cx - 7},${mid + 5} Z`});
    if (kind.startsWith("breach")) return svg("path", {d: `M${cx - 6},${mid - 6} L${cx + 6},${mid + 6} M${cx + 6},${mid - 6} L${cx - 6},${mid + 6}`});
    if (kind.startsWith("due")) return svg("path", {d: `M${cx},${mid - 9} L${cx + 6},${mid} L${cx},${mid + 9} L${cx - 6},${mid} Z`});
    if (kind.startsWith("acknowledged")) return svg("rect", {x: cx - 5, y: mid - 5, width: 10, height: 10});
    return svg("circle", {cx, cy: mid, r: kind.startsWith("level") ? 9 : 6});
  }

  // spec: {title, zone, from, to, rows: [{key, label, note, bands, spans, marks}], lines: [{at, kind, title}]};
  // bands, spans: [{from, to, kind, title, text}]; marks: [{at, kind, title, text}].
  function drawTimeline(spec, id) {
    const width = 1100, gutter = 260, right = 90, axis = 40, row = 46;
    const height = axis + spec.rows.length * row + 44;  // below the rows: the names of the lines across them
    const x = (ms) => gutter + (Math.min(Math.max(ms, spec.from), spec.to) - spec.from) / (spec.to - spec.from)
      * (width - gutter - right);
    const drawing = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", class: "timeline",
                                "aria-labelledby": `${id}-title`, "data-zone": spec.zone});
    drawing.append(svg("title", {id: `${id}-title`}, spec.title));
    for (const tick of ticks(spec.from, spec.to, spec.zone)) {
      drawing.append(svg("line", {x1: x(tick.at), x2: x(tick.at), y1: axis - 6, y2: height - 38,
                                  class: tick.day ? "grid major" : "grid"}),
                     svg("text", {x: x(tick.at), y: axis - 12, class: tick.day ? "tick day" : "tick"}, tick.text));
    }
    spec.rows.forEach((r, i) => {
      const top = axis + i * row, mid = top + row / 2;
      const group = svg("g", {class: `row ${r.key.split(":")[0]}`, "data-row": r.key});
      group.append(svg("text", {x: gutter - 10, y: r.note ? mid - 3 : mid + 4, class: "row-label"}, r.label));
      if (r.note) group.append(svg("text", {x: gutter - 10, y: mid + 12, class: "row-note"}, r.note));
      for (const band of r.bands || []) {
        const wide = x(band.to) - x(band.from);
        group.append(svg("rect", {x: x(band.from), y: top + 3, width: Math.max(wide, 1), height: row - 6,
                                  class: `band ${band.kind}`}, svg("title", {}, band.title)));
        if (band.text && wide > 8 * band.text.length) {
          group.append(svg("text", {x: x(band.from) + 5, y: mid + 4, class: "band-text"}, band.text));
        }
      }
      for (const span of r.spans || []) {
        group.append(svg("rect", {x: x(span.from), y: mid - 8, width: Math.max(x(span.to) - x(span.from), 2),
                                  height: 16, class: `span ${span.kind}`}, svg("title", {}, span.title)));
        // Where a clock counts only while its schedule is open: those hours darker, over the span.
        for (const piece of span.counting || []) {
          group.append(svg("rect", {x: x(piece.from), y: mid - 8, width: Math.max(x(piece.to) - x(piece.from), 1),
                                    height: 16, class: "span counting"}));
        }
        if (span.text) group.append(svg("text", {x: x(span.to) + 6, y: mid + 4, class: "span-text"}, span.text));
      }
      for (const m of r.marks || []) {
        if (m.at > spec.to) continue;
        const shape = svg("g", {class: `mark ${m.kind}`}, mark(m.kind, x(m.at), mid), svg("title", {}, m.title));
        if (m.text) shape.append(svg("text", {x: x(m.at), y: mid + 4, class: "mark-text"}, m.text));
        group.append(shape);
      }
      drawing.append(group);
    });
    let named = -Infinity, low = false;  // a name too near the one before goes a line lower
    for (const line of spec.lines) {
      if (line.at < spec.from || line.at > spec.to) continue;
      low = x(line.at) - named < 110 ? !low : false;
      named = x(line.at);
      drawing.append(svg("g", {class: `line ${line.kind}`},
        svg("line", {x1: x(line.at), x2: x(line.at), y1: axis - 4, y2: height - (low ? 20 : 34)}),
        svg("text", {x: x(line.at), y: height - (low ? 6 : 20), class: "line-text"}, line.text),
        svg("title", {}, line.title)));
    }
    return drawing;
  }

  // The picture in words: each row's spans and marks in time order, then the lines across it.
  function timelineText(spec) {
    const items = spec.rows.map((r) => {
      const parts = [...(r.spans || []).map((s) => ({at: s.from, title: s.title})),
                     ...(r.marks || []).map((m) => ({at: m.at, title: m.title}))].sort((a, b) => a.at - b.at);
      return el("li", {"data-row": r.key}, el("strong", {}, r.label), r.note ? ` (${r.note})` : "",
        el("ul", {}, ...parts.map((p) => el("li", {}, p.title + (p.at > spec.to ? " (after the picture's end)" : "")))));
    });
    return [...items, ...spec.lines.map((line) => el("li", {}, line.title))];
  }

  function extent(from, instants) {
    const last = Math.max(from + 30 * MINUTE, ...instants.filter((t) => Number.isFinite(t)));
    const to = Math.min(last, from + LONGEST);
    return {from: from - (to - from) * 0.02, to: to + (to - from) * 0.02};
  }

  // The coverage of the weeks from `from` to `to`: the plan's labels and legend, the support hours' periods and
  // the other schedules' open hours. null when the API cannot say (a date past the holiday calendar's years).
  async function coverageOver(customer, from, to, zone) {
    const weeks = [];
    for (let day = wall(from, zone).date; instantOf(day, "00:00", zone) <= to && weeks.length < WEEKS;
      day = addDays(day, 7)) weeks.push(day);
    let found;
    try {
      found = await Promise.all(weeks.map((w) => api(`/v1/customers/${encodeURIComponent(customer)}/coverage`
        + `?week_of=${w}`)));
    } catch (error) {
      if (error instanceof NeedsToken) throw error;
      return null;
    }
    const schedules = {};
    for (const week of found) {
      for (const [name, s] of Object.entries(week.schedules || {})) {
        schedules[name] = {label: s.label, open: [...((schedules[name] || {}).open || []), ...s.open]};
      }
    }
    return {labels: found[0].labels, legend: found[0].legend, schedules,
            periods: found.flatMap((w) => w.days.flatMap((d) => d.periods.map((p) => ({...p, holiday: d.holiday}))))};
  }

  function inside(items, from, to) {
    return items.filter((i) => Date.parse(i.to) > from && Date.parse(i.from) < to);
  }

  // ---- a ticket's clocks -----------------------------------------------------------------------

  // The pieces of [from, to) inside the bands (the hours a schedule is open).
  function within(from, to, bands) {
    return bands.map((b) => ({from: Math.max(from, b.from), to: Math.min(to, b.to)})).filter((p) => p.to > p.from);
  }

  function openHours(t, coverage, view, zone) {
    let open = [];
    if (coverage && t.schedule === "support_hours") {
      open = inside(coverage.periods.filter((p) => p.coverage === "support_hours"), view.from, view.to);
    } else if (coverage && coverage.schedules[t.schedule]) {
      open = inside(coverage.schedules[t.schedule].open, view.from, view.to);
    }
    const where = t.schedule === "support_hours" ? (coverage ? words(coverage).kind("support_hours") : "Support hours")
      : t.schedule ? (coverage && coverage.schedules[t.schedule] || {label: t.schedule.replace(/_/g, " ")}).label : null;
    return {where, bands: open.map((b) => ({from: Date.parse(b.from), to: Date.parse(b.to), kind: "open",
                                           title: `${where} open: ${range(Date.parse(b.from), Date.parse(b.to), zone)}`}))};
  }

  function targetRow(name, t, at, zone, w, coverage, view) {
    const {where, bands} = openHours(t, coverage, view, zone);
    const spans = [
      ...t.ran.map((s) => {
        const from = Date.parse(s.from), to = Date.parse(s.to);
        return {from, to, kind: `running cycle-${s.cycle % 2}${where ? " in-hours" : ""}`,
                counting: where ? within(from, to, bands) : [],
                title: `Running${t.cycles > 1 ? ` (cycle ${s.cycle})` : ""}: ${range(from, to, zone)}`};
      }),
      ...t.paused.map((p) => {
        const to = p.to === null ? at : Date.parse(p.to);
        return {from: Date.parse(p.from), to, kind: "paused",
                title: `Paused: ${range(Date.parse(p.from), to, zone)}${p.to === null ? " (still paused)" : ""}`};
      })];
    const marks = t.warnings.filter((x) => x.fires_at).map((x) => ({
      at: Date.parse(x.fires_at), kind: x.fired ? "warning" : "warning projected",
      title: `${x.percent}% of the target: ${x.action === "notify" ? "tell" : "escalate to"} ${w.team(x.team, x.via)}; `
        + `${x.fired ? "fired" : "fires, if the clock runs on,"} ${longTime(Date.parse(x.fires_at), zone)}`}));
    if (t.due && t.breached_at === null) {
      marks.push({at: Date.parse(t.due), kind: t.state === "met" ? "due met" : "due",
                  title: `Due ${longTime(Date.parse(t.due), zone)}`});
    }
    for (const breach of t.breaches) {
      marks.push({at: Date.parse(breach), kind: "breach", title: `Breached ${longTime(Date.parse(breach), zone)}`});
    }
    if (t.stopped_at) {
      marks.push({at: Date.parse(t.stopped_at), kind: "stop", title: `${t.state === "met" ? "Met" : "Stopped"} by `
        + `${STOPS[t.stop] || w.label(t.stop)}: ${longTime(Date.parse(t.stopped_at), zone)}`});
    }
    return {key: `target:${name}`, label: w.capital(w.label(name)), spans, marks, bands,
            note: STATES[t.state] + (where ? `, in ${where.toLowerCase()}` : ", around the clock")};
  }

  function escalationRow(e, zone, w) {
    const marks = e.levels.filter((l) => l.fires_at).map((l) => ({
      at: Date.parse(l.fires_at), kind: l.fired ? "level" : "level projected", text: String(l.level),
      title: `Escalation level ${l.level}${l.round > 1 ? ` (round ${l.round})` : ""}: ${w.team(l.team, l.via)}; `
        + `${l.fired ? "reached" : "reached, unless someone acknowledges first,"} ${longTime(Date.parse(l.fires_at), zone)}`}));
    if (e.acknowledged_at) {
      marks.push({at: Date.parse(e.acknowledged_at), kind: "acknowledged",
                  title: `Acknowledged ${longTime(Date.parse(e.acknowledged_at), zone)}`});
    }
    const reached = e.level ? `level ${e.level}: ${w.team(e.team, e.via)}` : "no level reached yet";
    return {key: "escalation", label: "Escalation", note: reached, marks};
  }

  function instantsOf(answer) {
    const found = [];
    for (const t of Object.values(answer.targets)) {
      found.push(...t.ran.map((s) => s.to), t.due, ...t.breaches, t.stopped_at,
                 ...t.warnings.map((x) => x.fires_at), ...t.paused.map((p) => p.to));
    }
    if (answer.escalation) found.push(...answer.escalation.levels.map((l) => l.fires_at));
    return found.filter(Boolean).map(Date.parse);
  }

  async function ticketSpec(answer) {
    const zone = answer.time_zone;
    const received = Date.parse(answer.received_at), at = Date.parse(answer.at);
    const view = extent(received, [at, ...instantsOf(answer)]);
    const coverage = await coverageOver(answer.customer, view.from, view.to, zone);
    const w = words(coverage);
    const rows = Object.entries(answer.targets).map(([name, t]) => targetRow(name, t, at, zone, w, coverage, view));
    if (answer.escalation) rows.push(escalationRow(answer.escalation, zone, w));
    return {...view, zone, rows, w,
            title: `The clocks of ticket ${answer.ticket_id || "(no id)"} of ${answer.customer}, in ${zone}`,
            lines: [{at: received, kind: "received", text: "received", title: `Received ${longTime(received, zone)}`},
                    {at, kind: "read", text: "read", title: `Clocks read ${longTime(at, zone)}: the ticket is `
                      + `${w.label(answer.status)}`}]};
  }

  async function showTicket(answer) {
    const spec = await ticketSpec(answer);
    $("ticket-summary").replaceChildren(el("strong", {}, `Ticket ${answer.ticket_id || "(no id)"} of `
      + `${answer.customer}`), `: received ${longTime(Date.parse(answer.received_at), spec.zone)}, read `
      + `${longTime(Date.parse(answer.at), spec.zone)}, in ${spec.zone}. Decided by ${answer.policy.id} `
      + `${answer.policy.version}; the clock terms are in `, el("code", {}, `${answer.clocks.file}:${answer.clocks.line}`),
      ".");
    $("ticket-timeline").replaceChildren(drawTimeline(spec, "ticket-timeline"));
    $("ticket-text").replaceChildren(...timelineText(spec));
  }

  // ---- a charge -----------------------------------------------------------------------------------

  async function chargeSpec(answer, body) {
    const zone = answer.time_zone;
    const spans = answer.lines.flatMap((l) => l.spans);
    const given = body && body.request && Date.parse(body.request.received_at);
    const start = Math.min(...spans.map((s) => Date.parse(s.start)), ...(given ? [given] : []));
    const view = extent(start, spans.map((s) => Date.parse(s.end)));
    const coverage = await coverageOver(answer.customer, view.from, view.to, zone);
    const w = words(coverage);
    const rows = [{key: "coverage", label: "Coverage", note: "as the contract says", bands: coverage
      ? inside(coverage.periods, view.from, view.to).map((p) => ({from: Date.parse(p.from), to: Date.parse(p.to),
        kind: p.holiday ? `${p.coverage} holiday` : p.coverage, text: w.kind(p.coverage), title: `${w.kind(p.coverage)}`
          + `${p.holiday ? ` (${p.holiday})` : ""}: ${range(Date.parse(p.from), Date.parse(p.to), zone)}`})) : []}];
    answer.lines.forEach((line, i) => {
      const how = line.charged ? `${line.worked_minutes} minutes worked, ${line.billed_minutes} billed at `
        + `${money(line.rate)} an hour: ${money(line.amount)}` : `${REASONS[line.reason] || w.label(line.reason)}`;
      rows.push({key: `line:${i + 1}`, label: `Line ${i + 1}: ${w.period(line.period)}`,
                 note: line.charged ? money(line.amount) : "not charged",
                 spans: line.spans.map((s, n) => ({from: Date.parse(s.start), to: Date.parse(s.end),
                   kind: `work ${line.charged ? "charged" : "not-charged"} ${line.period}`,
                   title: `${w.period(line.period)}, ${range(Date.parse(s.start), Date.parse(s.end), zone)}: ${how}`,
                   text: n === line.spans.length - 1 ? (line.charged ? money(line.amount) : "not charged") : ""}))});
    });
    const lines = given ? [{at: given, kind: "received", text: "received", title: `Received ${longTime(given, zone)}`}]
      : [];
    if (answer.notice) {
      lines.push({at: Date.parse(answer.notice.given_at), kind: "notice", text: `notice ${answer.notice.response}`,
                  title: `Notice given `
        + `${longTime(Date.parse(answer.notice.given_at), zone)}: the customer ${answer.notice.response}`});
    }
    return {...view, zone, rows, lines,
            title: `The charge for ticket ${answer.ticket_id || "(no id)"} of ${answer.customer}, in ${zone}`};
  }

  async function showCharge(answer, body) {
    const spec = await chargeSpec(answer, body);
    $("charge-summary").replaceChildren(el("strong", {}, `Total ${money(answer.total)}`), ` for ticket `
      + `${answer.ticket_id || "(no id)"} of ${answer.customer}, in ${spec.zone}: ${answer.lines.length} line(s), `
      + `${answer.lines.filter((l) => l.charged).length} charged.`);
    $("charge-timeline").replaceChildren(drawTimeline(spec, "charge-timeline"));
    $("charge-text").replaceChildren(...timelineText(spec));
  }

  // ---- the forms -------------------------------------------------------------------------------------

  function parsed(text, box) {
    try {
      return JSON.parse(text);
    } catch (error) {
      box.hidden = false;
      box.replaceChildren(el("p", {}, el("strong", {}, "The text is not JSON. "), String(error.message)));
      return undefined;
    }
  }

  async function run(button, box, work) {
    clearProblem(box);
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      if (!(error instanceof NeedsToken)) showProblem(box, error);
    } finally {
      button.disabled = false;
    }
  }

  function offer(select, area, examples) {
    select.append(...Object.entries(examples).map(([key, e]) => el("option", {value: key}, e.label)));
    select.addEventListener("change", () => {
      if (examples[select.value]) area.value = JSON.stringify(examples[select.value].body, null, 2);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    offer($("ticket-example"), $("ticket-body"), TICKETS);
    offer($("charge-example"), $("charge-body"), CHARGES);
    $("ticket-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const body = parsed($("ticket-body").value, $("ticket-problem"));
      if (body !== undefined) {
        run($("ticket-show"), $("ticket-problem"), async () => showTicket(await api("/v1/tickets/evaluate", body)));
      }
    });
    $("tracked-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const id = $("tracked-id").value.trim();
      if (!id) {
        $("tracked-id").focus();
        return;
      }
      run($("tracked-open"), $("ticket-problem"), async () => showTicket(await api(`/v1/tickets/${encodeURIComponent(id)}`)));
    });
    $("charge-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const body = parsed($("charge-body").value, $("charge-problem"));
      if (body !== undefined) {
        run($("charge-show"), $("charge-problem"), async () => showCharge(await api("/v1/charges", body), body));
      }
    });
  });
})();
