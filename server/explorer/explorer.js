// The policy explorer: asks the API for customers, coverage, terms, decisions and the policy set,
// and shows them. Plain DOM, no libraries, nothing fetched from anywhere but this server.
"use strict";

(() => {
  const TOKEN_KEY = "supportpolicy.token";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const VIEWER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
  // The names of the kinds of period come from the API (the contract's legend); only this one is the page's own.
  const OUTSIDE = "Outside the week shown";
  // Where each field of a decision request is typed on the page, to name it in problem documents.
  const FIELDS = {"/received_at": "received-at", "/channel": "channel", "/category": "category",
                  "/requester": "email", "/requester/email": "email", "/customer": "customer",
                  "week_of": "week-of", "at": "week-of"};
  const $ = (id) => document.getElementById(id);
  const state = {customers: [], coverage: null, terms: null, decision: null, loads: 0, typing: null,
                 receivedTyped: false};

  class Problem extends Error {
    constructor(status, doc) {
      super(doc.detail || doc.title || `HTTP ${status}`);
      this.status = status;
      this.doc = doc;
    }
  }
  class NeedsToken extends Error {}

  // ---- the API, with the bearer token when the server asks for one ----------------------

  async function api(path, body) {
    const headers = {Accept: "application/json"};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = {method: body === undefined ? "GET" : "POST", headers};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const doc = await response.json().catch(() => ({title: response.statusText}));
    if (response.status === 401) {
      if (token) sessionStorage.removeItem(TOKEN_KEY);
      askForToken(token ? "That token was refused. Enter another one." : null);
      throw new NeedsToken();
    }
    if (!response.ok) throw new Problem(response.status, doc);
    return doc;
  }

  function askForToken(reason) {
    $("auth").hidden = false;
    $("explorer").hidden = true;
    if (reason) $("auth-reason").textContent = reason;
    $("token").focus();
  }

  // ---- time: instants placed in a time zone with Intl, since Date knows only UTC and local ----

  const formatters = new Map();
  function partsOf(ms, zone) {
    if (!formatters.has(zone)) {
      formatters.set(zone, new Intl.DateTimeFormat("en-US", {
        timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit"}));
    }
    const p = {};
    for (const {type, value} of formatters.get(zone).formatToParts(ms)) p[type] = Number(value);
    return p;
  }

  // The wall clock in `zone` at an instant: its date (YYYY-MM-DD) and hours since midnight.
  function wall(ms, zone) {
    const p = partsOf(ms, zone);
    return {date: `${p.year}-${pad(p.month)}-${pad(p.day)}`, hours: p.hour + p.minute / 60 + p.second / 3600,
            hh: pad(p.hour), mm: pad(p.minute), ss: pad(p.second)};
  }

  function offsetMs(ms, zone) {
    const p = partsOf(ms, zone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  }

  // The instant a wall-clock date and time in `zone` names (the later offset in a repeated hour).
  function instantOf(date, time, zone) {
    const [y, mo, d] = date.split("-").map(Number);
    const [h, mi] = time.split(":").map(Number);
    const guess = Date.UTC(y, mo - 1, d, h, mi);
    const first = guess - offsetMs(guess, zone);
    const second = guess - offsetMs(first, zone);
    return second;
  }

  function rfc3339(ms, zone) {
    const w = wall(ms, zone);
    const minutes = Math.round(offsetMs(ms, zone) / 60000);
    const sign = minutes < 0 ? "-" : "+";
    const abs = Math.abs(minutes);
    return `${w.date}T${w.hh}:${w.mm}:${w.ss}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }

  function addDays(date, days) {
    const [y, m, d] = date.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
  }

  function zoneAbbreviation(ms, zone) {
    const parts = new Intl.DateTimeFormat("en-US", {timeZone: zone, timeZoneName: "short"}).formatToParts(ms);
    return parts.find((p) => p.type === "timeZoneName").value;
  }

  // "Monday 30 November, 11:00 CST"
  function longTime(ms, zone) {
    const day = new Intl.DateTimeFormat("en-GB", {timeZone: zone, weekday: "long", day: "numeric", month: "long"})
      .format(ms).replace(",", "");
    const w = wall(ms, zone);
    return `${day}, ${w.hh}:${w.mm} ${zoneAbbreviation(ms, zone)}`;
  }

  function dateLabel(date, options) {
    const [y, m, d] = date.split("-").map(Number);
    return new Intl.DateTimeFormat("en-GB", {timeZone: "UTC", ...options}).format(Date.UTC(y, m - 1, d));
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function displayZone() {
    return $("zone-viewer").checked ? VIEWER_ZONE : state.coverage.time_zone;
  }

  // ---- small DOM helpers -----------------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  function svg(tag, attributes = {}, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  function code(text) {
    return el("code", {}, text);
  }

  // A problem document, readably: its title, detail and each error naming its field.
  function showProblem(box, error) {
    box.replaceChildren();
    box.hidden = false;
    if (!(error instanceof Problem)) {
      const what = error instanceof TypeError ? "The server could not be reached. " : "The page failed. ";
      box.append(el("p", {}, el("strong", {}, what), String(error.message || error)));
      return;
    }
    const doc = error.doc;
    box.append(el("p", {}, el("strong", {}, `${doc.title || "Error"} (${error.status})`)));
    if (doc.detail) box.append(el("p", {}, doc.detail));
    if (Array.isArray(doc.errors) && doc.errors.length) {
      const list = el("ul");
      for (const item of doc.errors) {
        const where = item.pointer || item.parameter || (item.file && `${item.file}:${item.line}`) || "";
        const field = FIELDS[where] && $(FIELDS[where]);
        if (field) {
          field.setAttribute("aria-invalid", "true");
          field.setAttribute("aria-describedby", box.id);
        }
        const name = field ? document.querySelector(`label[for="${field.id}"]`).firstChild.textContent.trim() : where;
        const target = field ? el("a", {href: `#${field.id}`}, name) : code(name);
        list.append(el("li", {}, target, `: ${item.detail || item.message}`));
      }
      box.append(list);
    }
  }

  function clearProblem(box) {
    box.hidden = true;
    box.replaceChildren();
    for (const field of document.querySelectorAll("[aria-invalid]")) {
      if (field.getAttribute("aria-describedby") === box.id) {
        field.removeAttribute("aria-invalid");
        field.removeAttribute("aria-describedby");
      }
    }
  }

  function coverageName(kind) {
    const legend = state.coverage && state.coverage.legend;
    return kind === "outside" ? OUTSIDE : (legend && legend[kind] ? legend[kind].label : kind);
  }

  // The plan's words for an identifier its rules use (a team, a way of handing over), else the id as words.
  function label(id) {
    if (id === null || id === undefined) return "";
    const labels = (state.coverage && state.coverage.labels) || {};
    return labels[id] || String(id).replace(/[_-]/g, " ");
  }

  // ---- the week: coverage, terms for the what-if form, calendar ---------------------------

  async function showWeek() {
    const customer = $("customer").value;
    const weekOf = $("week-of").value;
    const load = ++state.loads;  // a slower answer for a week no longer asked for is dropped
    clearProblem($("load-problem"));
    $("coverage").setAttribute("aria-busy", "true");
    try {
      const query = weekOf ? `?week_of=${encodeURIComponent(weekOf)}` : "";
      const path = `/v1/customers/${encodeURIComponent(customer)}`;
      const coverage = await api(`${path}/coverage${query}`);
      const terms = await api(`${path}?at=${encodeURIComponent(termsInstant(coverage))}`);
      if (load !== state.loads) return;
      state.coverage = coverage;
      state.terms = terms;
      const shown = weekOf || coverage.days[0].date;
      history.replaceState(null, "", `?customer=${encodeURIComponent(customer)}&week_of=${shown}`);
      fillWhatIf(terms);
      drawAll();
    } catch (error) {
      if (!(error instanceof NeedsToken) && load === state.loads) showProblem($("load-problem"), error);
    } finally {
      if (load === state.loads) $("coverage").removeAttribute("aria-busy");
    }
  }

  // The terms the what-if form offers are those of the week shown, or of the first contract
  // version when the week comes before any.
  function termsInstant(coverage) {
    const day = coverage.days.find((d) => d.contract !== null);
    if (day) return day.periods[0].from;
    const customer = state.customers.find((c) => c.id === coverage.customer);
    return rfc3339(instantOf(customer.versions[0].effective_from, "12:00", coverage.time_zone), coverage.time_zone);
  }

  function fillWhatIf(terms) {
    const values = {};
    for (const term of terms.terms) values[term.term] = term.value;
    const refill = (select, prefix, describe) => {
      const chosen = select.value;
      const ids = [...new Set(Object.keys(values).filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length).split(".")[0]))];
      select.replaceChildren(...ids.map((id) => el("option", {value: id}, describe(id))));
      if (ids.includes(chosen)) select.value = chosen;
    };
    refill($("channel"), "channels.", (id) => `${id}: ${values[`channels.${id}.description`] || ""}`);
    refill($("category"), "categories.", (id) => `${id}: ${values[`categories.${id}.description`] || ""}`
      + (values[`categories.${id}.emergency`] ? " (emergency)" : ""));
    $("designated").replaceChildren(...terms.designated_contacts.map((email) => el("option", {value: email})));
    $("designated-hint").textContent = terms.designated_contacts.length
      ? `Designated contacts: ${terms.designated_contacts.join(", ")}` : "This customer names no designated contacts.";
  }

  function drawAll() {
    const coverage = state.coverage;
    const zone = displayZone();
    $("zone-schedule-label").textContent = `the schedule's time zone (${coverage.time_zone})`;
    $("zone-viewer-label").textContent = `my time zone (${VIEWER_ZONE})`;
    $("received-zone").textContent = `(${zone})`;
    if (!$("received-at").value || !state.receivedTyped) {  // Monday 10:00 of the week shown, until typed in
      const w = wall(instantOf(coverage.days[0].date, "10:00", coverage.time_zone), zone);
      $("received-at").value = `${w.date}T${w.hh}:${w.mm}`;
    }
    drawSummary(coverage, zone);
    $("calendar").replaceChildren(drawCalendar(coverage, zone));
    drawCoverageText(coverage, zone);
    $("holidays").replaceChildren(...(coverage.upcoming_holidays.length ? coverage.upcoming_holidays.map((h) =>
      el("li", {}, el("time", {datetime: h.date}, dateLabel(h.date, {weekday: "short", day: "numeric",
        month: "short", year: "numeric"})), ` ${h.name}` + (h.actual_date !== h.date ? ` (falls on `
        + `${dateLabel(h.actual_date, {weekday: "short", day: "numeric", month: "short", year: "numeric"})}, `
        + "observed this day)" : ""))) : [el("li", {}, "None in the coming year.")]));
    if (state.decision) drawDecision(state.decision);
  }

  function drawSummary(coverage, zone) {
    const customer = state.customers.find((c) => c.id === coverage.customer);
    const monday = dateLabel(coverage.days[0].date, {weekday: "long", day: "numeric", month: "long", year: "numeric"});
    // The versions in effect in the week shown, each run of days once.
    const whole = coverage.versions.length === 1 && coverage.versions[0].from === coverage.days[0].date
      && coverage.versions[0].to === coverage.days[coverage.days.length - 1].date;
    const versions = coverage.versions.map((v) => `contract ${v.contract}, plan ${v.plan.id} ${v.plan.version} `
      + (whole ? "all week" : `from ${dateLabel(v.from, {weekday: "long", day: "numeric", month: "long"})}`));
    $("coverage-summary").replaceChildren(
      el("strong", {}, `${customer.name} (${customer.id})`), `: the week of ${monday} in ${coverage.time_zone}`
      + (coverage.customer_time_zone ? " (the customer's own time zone)" : "")
      + (zone === coverage.time_zone ? "." : `, shown in ${zone}: from ${longTime(Date.parse(coverage.from), zone)} `
        + `to ${longTime(Date.parse(coverage.to), zone)}.`),
      el("br"), `Contract versions in effect: ${versions.length ? versions.join("; ") : "none"}.`);
    $("legend").replaceChildren(...Object.entries(coverage.legend).map(([kind, entry]) => el("li", {},
      el("span", {class: `swatch ${kind}`}), el("strong", {}, entry.label),
      entry.description ? `: ${entry.description}` : "")));
    $("schedules").replaceChildren(...schedulesOf(coverage).map((s, i) => el("li", {},
      el("span", {class: `swatch lane-${i}`}), `${s.label} (${s.time_zone}`
      + (s.customer_time_zone ? ", the customer's own time zone" : "") + ")" + (s.description ? `: ${s.description}` : ""))));
    const emergency = coverage.emergency_support;
    const hours = coverage.after_hours;
    $("after-hours").textContent = hours
      ? `Rate ${hours.rate.amount} ${hours.rate.currency} an hour` + (hours.notice_required
        ? "; the customer is notified before any charge." : ", without prior notice.")
        + ` Emergencies are answered ${emergency.response_target_words}.`
      : "No contract is in effect this week.";
  }

  // Every schedule of the contract: the support hours first, then the plan's others (drawn as lanes).
  function schedulesOf(coverage) {
    return [{label: "support hours", time_zone: coverage.time_zone, customer_time_zone: coverage.customer_time_zone,
             description: coverage.schedule_description || "when the support team is on duty"},
            ...Object.entries(coverage.schedules).map(([name, s]) => ({name, ...s}))];
  }

  // Every period cut at the display zone's midnights, grouped by the display zone's dates.
  function columnsOf(coverage, zone) {
    const start = Date.parse(coverage.from);
    const end = Date.parse(coverage.to);
    const columns = new Map();
    for (let date = wall(start, zone).date; date <= wall(end - 1, zone).date; date = addDays(date, 1)) {
      columns.set(date, {date, pieces: [], holidays: []});
    }
    const cut = (from, to, item) => {
      for (let at = from; at < to;) {
        const w = wall(at, zone);
        const midnight = instantOf(addDays(w.date, 1), "00:00", zone);
        const until = Math.min(to, midnight);
        const bottom = until === midnight ? 24 : wall(until, zone).hours;
        const pieces = columns.get(w.date).pieces;
        // Seen from another zone, one schedule day's evening runs on into the next one's morning: one block.
        const before = pieces.findLast((p) => p.kind === item.kind && p.name === item.name);
        if (before && before.to === at && before.holiday === item.holiday && before.name === item.name) {
          Object.assign(before, {to: until, bottom});
        } else {
          pieces.push({...item, from: at, to: until, top: w.hours, bottom});
        }
        at = until;
      }
    };
    // In another zone than the schedule's the week starts and ends within a day: grey out the rest.
    cut(instantOf(wall(start, zone).date, "00:00", zone), start, {kind: "outside"});
    cut(end, instantOf(addDays(wall(end - 1, zone).date, 1), "00:00", zone), {kind: "outside"});
    for (const day of coverage.days) {
      for (const period of day.periods) {
        cut(Date.parse(period.from), Date.parse(period.to), {kind: period.coverage, holiday: day.holiday});
      }
      if (day.holiday) {
        const from = Date.parse(day.periods[0].from);
        cut(from, Date.parse(day.periods[day.periods.length - 1].to), {kind: "holiday", name: day.holiday});
      }
    }
    // The plan's other schedules, each a lane beside the support hours: when it is open.
    schedulesOf(coverage).slice(1).forEach((schedule, i) => {
      for (const open of schedule.open) {
        cut(Date.parse(open.from), Date.parse(open.to), {kind: "schedule", name: schedule.label, lane: i + 1});
      }
    });
    const changes = new Map(coverage.days.filter((d) => d.takes_effect.length).map((d) => [d.date, d.takes_effect]));
    for (const column of columns.values()) {
      column.holidays = [...new Set(column.pieces.filter((p) => p.kind === "holiday").map((p) => p.name))];
      column.takesEffect = changes.get(column.date) || [];
    }
    return [...columns.values()];
  }

  function pieceTitle(piece, zone) {
    const w = wall(piece.from, zone);
    const end = piece.bottom === 24 ? "24:00" : `${wall(piece.to, zone).hh}:${wall(piece.to, zone).mm}`;
    const what = piece.kind === "holiday" ? `${coverageName("holiday")}: ${piece.name}`
      : piece.kind === "schedule" ? `${piece.name}: open` : coverageName(piece.kind);
    return `${what}: ${dateLabel(w.date, {weekday: "short", day: "numeric", month: "short"})} `
      + `${w.hh}:${w.mm} to ${end} ${zoneAbbreviation(piece.from, zone)}`
      + (piece.kind !== "holiday" && piece.holiday ? ` (${piece.holiday})` : "");
  }

  function drawCalendar(coverage, zone) {
    const columns = columnsOf(coverage, zone);
    const gutter = 52, width = 118, hour = 18, head = 64;
    const total = gutter + columns.length * width + 8;
    const drawing = svg("svg", {viewBox: `0 0 ${total} ${head + 24 * hour + 8}`, role: "img",
                                "aria-labelledby": "calendar-title", "data-week-of": coverage.days[0].date,
                                "data-zone": zone, class: "week"});
    drawing.append(svg("title", {id: "calendar-title"}, `Coverage of ${coverage.customer} for the week of `
      + `${coverage.days[0].date}, in ${zone}`));
    drawing.append(svg("defs", {}, svg("pattern", {id: "hatch", width: 8, height: 8, patternUnits: "userSpaceOnUse",
                                                   patternTransform: "rotate(45)"},
                                       svg("rect", {width: 3, height: 8, class: "hatch"}))));
    for (let h = 0; h <= 24; h++) {
      const y = head + h * hour;
      drawing.append(svg("line", {x1: gutter, x2: total - 8, y1: y, y2: y, class: h % 6 ? "grid" : "grid major"}));
      if (h % 2 === 0) drawing.append(svg("text", {x: gutter - 6, y: y + 4, class: "hour"}, `${pad(h)}:00`));
    }
    const lanes = schedulesOf(coverage).length - 1;
    columns.forEach((column, i) => {
      const x = gutter + i * width;
      const classes = ["day", ...(column.holidays.length ? ["holiday-day"] : []),
                       ...(column.takesEffect.length ? ["new-version"] : [])];
      const group = svg("g", {class: classes.join(" "), "data-date": column.date});
      group.append(svg("rect", {x, y: 0, width, height: head - 4, class: "day-head"},
        ...(column.holidays.length ? [svg("title", {}, column.holidays.join(", "))] : [])));
      group.append(svg("text", {x: x + width / 2, y: 18, class: "weekday"},
        dateLabel(column.date, {weekday: "short", day: "numeric", month: "short"})));
      holidayLines(column.holidays).forEach((line, n) => group.append(svg("text", {x: x + width / 2,
        y: 36 + n * 13, class: "holiday-name"}, line)));
      if (column.takesEffect.length) {  // a new version takes effect this day, at local midnight
        const what = column.takesEffect.map((f) => `${f.kind} ${f.id} ${f.version}`).join(", ");
        group.append(svg("text", {x: x + width / 2, y: column.holidays.length ? 58 : 40, class: "takes-effect"},
          `New: ${column.takesEffect.map((f) => `${f.kind} ${f.version}`).join(", ")}`,
          svg("title", {}, `Takes effect this day: ${what}`)));
      }
      for (const piece of column.pieces) {
        const y = head + piece.top * hour;
        const h = Math.max((piece.bottom - piece.top) * hour, 1);
        const lane = width - 4 - (lanes - piece.lane + 1) * 9;
        const block = piece.kind === "holiday"
          ? svg("rect", {x: x + 2, y, width: width - 4 - lanes * 9, height: h, class: "holiday", fill: "url(#hatch)"})
          : piece.kind === "schedule"
            ? svg("rect", {x: x + lane, y, width: 7, height: h, class: `lane lane-${piece.lane}`})
            : svg("rect", {x: x + 4, y, width: width - 8 - lanes * 9, height: h, class: `block ${piece.kind}`});
        block.append(svg("title", {}, pieceTitle(piece, zone)));
        group.append(block);
      }
      drawing.append(group);
    });
    for (const marker of markers(coverage, zone)) {
      const column = columns.findIndex((c) => c.date === marker.date);
      if (column < 0) continue;
      const y = head + marker.hours * hour;
      const x = gutter + column * width;
      drawing.append(svg("g", {class: `marker ${marker.kind}`},
        svg("line", {x1: x, x2: x + width, y1: y, y2: y}), svg("circle", {cx: x + 6, cy: y, r: 4}),
        svg("title", {}, marker.label)));
    }
    return drawing;
  }

  // Holiday names wrapped at spaces to fit a column's head: two lines at most, the last cut short.
  function holidayLines(names) {
    const lines = [];
    for (const word of names.join(", ").split(" ")) {
      const last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= 14) lines[last] += ` ${word}`;
      else lines.push(word);
    }
    if (lines.length > 2) lines.splice(1, lines.length, `${lines[1].slice(0, 15)}…`);
    return lines;
  }

  // Lines across the calendar: now, and the what-if request when it falls in the week shown.
  function markers(coverage, zone) {
    const found = [];
    const start = Date.parse(coverage.from), end = Date.parse(coverage.to);
    const add = (ms, kind, label) => {
      if (ms >= start && ms < end) found.push({...wall(ms, zone), kind, label: `${label}: ${longTime(ms, zone)}`});
    };
    add(Date.now(), "now", "Now");
    for (const day of coverage.days) {
      if (day.takes_effect.length) {
        add(Date.parse(day.periods[0].from), "version", "Takes effect: "
          + day.takes_effect.map((f) => `${f.kind} ${f.id} ${f.version}`).join(", "));
      }
    }
    if (state.decision) add(Date.parse(state.decision.received_at), "request", "The what-if request");
    return found;
  }

  function drawCoverageText(coverage, zone) {
    const items = columnsOf(coverage, zone).map((column) => {
      const pieces = column.pieces.filter((p) => !["holiday", "outside", "schedule"].includes(p.kind))
        .map((p) => pieceTitle(p, zone));
      const head = dateLabel(column.date, {weekday: "long", day: "numeric", month: "long"})
        + (column.holidays.length ? ` (${column.holidays.join(", ")})` : "");
      const news = column.takesEffect.length ? [" ", el("em", {}, "takes effect: "
        + column.takesEffect.map((f) => `${f.kind} ${f.id} ${f.version}`).join(", "))] : [];
      return el("li", {}, el("strong", {}, head), ...news, el("ul", {}, ...pieces.map((p) => el("li", {}, p))));
    });
    $("coverage-text").replaceChildren(...items);
  }

  // ---- the what-if form -------------------------------------------------------------------

  async function decide(event) {
    event.preventDefault();
    const box = $("what-if-problem");
    clearProblem(box);
    const zone = displayZone();
    const [date, time] = $("received-at").value.split("T");
    const body = {customer: $("customer").value,
                  received_at: date && time ? rfc3339(instantOf(date, time, zone), zone) : "",
                  channel: $("channel").value, requester: {email: $("email").value.trim()},
                  category: $("category").value};
    $("decide").disabled = true;
    try {
      // A dry run: decided as it would be, never logged, counted or replayed as traffic; a read token will do.
      state.decision = await api("/v1/decisions?dry_run=true", body);
      drawDecision(state.decision);
      $("calendar").replaceChildren(drawCalendar(state.coverage, displayZone()));
    } catch (error) {
      if (!(error instanceof NeedsToken)) showProblem(box, error);
    } finally {
      $("decide").disabled = false;
    }
  }

  function drawDecision(d) {
    const zone = displayZone();
    const received = Date.parse(d.received_at);
    const sentences = [
      `Received ${longTime(received, zone)}`
        + (zone === d.time_zone ? "." : ` (${longTime(received, d.time_zone)} for the schedule).`),
      (d.in_business_hours ? "Inside support hours." : "Outside support hours.")
        + (d.holiday ? ` It is a holiday: ${d.holiday}.` : ""),
      `Emergency: ${d.emergency ? "yes" : "no"}.` + (d.emergency && !d.emergency_support
        ? " The requester may not use 24/7 emergency support." : "")
        + (d.emergency_support ? " 24/7 emergency support applies." : ""),
      `Designated contact: ${d.designated_contact ? "yes" : "no"}.`,
      d.billable ? `Billable at ${d.hourly_rate.amount} ${d.hourly_rate.currency} per hour`
        + (d.notice_required ? "; the customer must be notified before any charge." : ".") : "Not billable.",
      d.respond_by ? `Respond by ${longTime(Date.parse(d.respond_by), zone)}.` : "No response deadline.",
      `Handled first by: ${label(d.route.team)}.`,
      `Escalates to: ${label(d.escalation.team)}` + (d.escalation.via ? ` via ${label(d.escalation.via)}.` : "."),
    ];
    const trace = el("ol", {class: "trace"}, ...d.trace.map((t) =>
      el("li", {}, code(`${t.file}:${t.line}`), " ", t.rule)));
    $("decision").replaceChildren(
      el("h3", {}, d.billable ? "Billable" : "Not billable"),
      el("ul", {class: "verdict"}, ...sentences.map((s) => el("li", {}, s))),
      el("h3", {}, "Rules that decided"), trace,
      el("p", {class: "hint"}, `Decided for ${d.customer} by ${d.policy.id} ${d.policy.version}, policy digest `,
        code(d.policy.digest.slice(0, 19) + "…"), `; decision ${d.decision_id}.`));
  }

  // ---- the policy set and its reload status ------------------------------------------------

  async function showPolicySet() {
    try {
      const [policies, status] = await Promise.all([api("/v1/policies"), api("/v1/status")]);
      $("policy-summary").replaceChildren(
        `${policies.files.length} files, loaded ${longTime(Date.parse(policies.loaded_at), VIEWER_ZONE)}; digest `,
        code(policies.digest));
      const kinds = {plan: 0, customer: 1, ruleset: 2};
      const files = [...policies.files].sort((a, b) => kinds[a.kind] - kinds[b.kind] || a.path.localeCompare(b.path));
      $("policy-files").tBodies[0].replaceChildren(...files.map((f) => el("tr", {},
        el("td", {}, f.kind), el("td", {}, f.id), el("td", {}, f.version), el("td", {}, f.effective_from),
        el("td", {}, code(f.path)), el("td", {title: f.digest}, code(f.digest.slice(0, 19) + "…")))));
      drawReloadStatus(status.last_attempt);
    } catch (error) {
      if (!(error instanceof NeedsToken)) showProblem($("reload-status"), error);
    }
  }

  function drawReloadStatus(attempt) {
    const box = $("reload-status");
    const problems = attempt.errors.filter((e) => e.severity === "error");
    const warnings = attempt.errors.filter((e) => e.severity !== "error");
    box.className = `reload-status ${attempt.ok ? "ok" : "failed"}`;
    box.replaceChildren(el("p", {}, el("strong", {}, attempt.ok ? "Last reload: loaded. " : "Last reload: refused. "),
      `${longTime(Date.parse(attempt.at), VIEWER_ZONE)} (${attempt.reason}). `, attempt.ok ? `Digest ${attempt.digest}.`
        : `${problems.length} error(s); the set below stays in force.`));
    if (attempt.errors.length) {
      box.append(el("ul", {class: "policy-errors"}, ...[...problems, ...warnings].map((e) => el("li", {},
        code(`${e.file}:${e.line}:${e.column}`), ` ${e.severity} ${e.code}: ${e.message}`))));
    }
  }

  // ---- start-up and wiring -------------------------------------------------------------------

  async function start() {
    try {
      const {customers} = await api("/v1/customers");
      state.customers = customers;
      const params = new URLSearchParams(location.search);
      const wanted = params.get("customer");
      $("customer").replaceChildren(...customers.map((c) => el("option", {value: c.id}, `${c.name} (${c.id})`)));
      if (customers.some((c) => c.id === wanted)) $("customer").value = wanted;
      // The week of today in the customer's schedule zone, unless the address names another.
      const zone = customers.find((c) => c.id === $("customer").value).time_zone;
      $("week-of").value = params.get("week_of") || wall(Date.now(), zone).date;
      $("auth").hidden = true;
      $("explorer").hidden = false;
      await Promise.all([showWeek(), showPolicySet()]);
    } catch (error) {
      if (!(error instanceof NeedsToken)) showProblem($("load-problem"), error);
    }
  }

  function shiftWeek(days) {
    const current = $("week-of").value || (state.coverage && state.coverage.days[0].date);
    if (!/^\d{4}-\d\d-\d\d$/.test(current || "")) return;
    $("week-of").value = addDays(current, days);
    showWeek();
  }

  // The what-if time keeps its instant when the zone it is typed in changes.
  function changeZone(event) {
    if (!state.coverage) return;
    const to = event.target.value === "viewer" ? VIEWER_ZONE : state.coverage.time_zone;
    const from = to === VIEWER_ZONE ? state.coverage.time_zone : VIEWER_ZONE;
    const [date, time] = $("received-at").value.split("T");
    if (date && time) {
      const w = wall(instantOf(date, time, from), to);
      $("received-at").value = `${w.date}T${w.hh}:${w.mm}`;
    }
    drawAll();
  }

  // What timeline.js (the ticket's clocks and the charge, drawn) shares of this page: the API and the time helpers.
  window.supportPolicyExplorer = {api, NeedsToken, el, svg, code, wall, instantOf, addDays, longTime,
                                  zoneAbbreviation, dateLabel, pad, showProblem, clearProblem};

  document.addEventListener("DOMContentLoaded", () => {
    $("auth-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      $("token").value = "";
      start();
    });
    $("view-form").addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(state.typing);
      showWeek();
    });
    $("customer").addEventListener("change", showWeek);
    // Chrome reports a new date at every digit typed (0002, 0020, 0202, 2026 for a year): load once
    // typing pauses, and only a year the API accepts; Enter or "Show" asks at once, for any date.
    $("week-of").addEventListener("change", () => {
      clearTimeout(state.typing);
      state.typing = setTimeout(() => /^2[01]\d\d-/.test($("week-of").value) && showWeek(), 400);
    });
    $("previous-week").addEventListener("click", () => shiftWeek(-7));
    $("next-week").addEventListener("click", () => shiftWeek(7));
    for (const radio of document.querySelectorAll("input[name=zone]")) radio.addEventListener("change", changeZone);
    $("what-if-form").addEventListener("submit", decide);
    $("received-at").addEventListener("input", () => { state.receivedTyped = true; });
    start();
  });
})();
