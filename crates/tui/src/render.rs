//! Drawing: a pure function of the [`DashboardState`]. Works from 80x24 up; smaller panels
//! show fewer rows (newest events, selected region's sparkline first), never garbage.

use crate::feed::{ms, secs};
use crate::keymap;
use crate::state::{Check, DashboardState, Lag, LogKind, Panel, RunState, Window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Sparkline};

/// Draw the whole dashboard into the frame.
pub fn render(state: &DashboardState, frame: &mut Frame) {
    let area = frame.area();
    let events_h = if area.height >= 36 { 10 } else { 5 };
    let [header, timeline, body, events, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Min(6),
        Constraint::Length(events_h),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(header_line(state)), header);
    frame.render_widget(
        Paragraph::new(timeline_lines(state, timeline.width)),
        timeline,
    );
    if state.expanded {
        let whole = Rect {
            height: body.height + events.height,
            ..body
        };
        panel(state, frame, state.focus, whole);
    } else {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        let halves = |r: Rect| -> [Rect; 2] {
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(r)
        };
        let [regions, latency] = halves(top);
        panel(state, frame, Panel::Regions, regions);
        panel(state, frame, Panel::Latency, latency);
        if state.has_streams_panel() {
            let [replication, streams, assertions] = Layout::horizontal([
                Constraint::Percentage(34),
                Constraint::Percentage(33),
                Constraint::Percentage(33),
            ])
            .areas(bottom);
            panel(state, frame, Panel::Replication, replication);
            panel(state, frame, Panel::Streams, streams);
            panel(state, frame, Panel::Assertions, assertions);
        } else {
            let [replication, assertions] = halves(bottom);
            panel(state, frame, Panel::Replication, replication);
            panel(state, frame, Panel::Assertions, assertions);
        }
        panel(state, frame, Panel::Events, events);
    }
    frame.render_widget(Paragraph::new(footer_line(state)), footer);
    if state.help {
        help(frame, area);
    }
}

fn panel(state: &DashboardState, frame: &mut Frame, which: Panel, area: Rect) {
    let focused = state.focus == which;
    let title = if focused {
        format!(" {} [focus] ", which.title())
    } else {
        format!(" {} ", which.title())
    };
    let block = Block::bordered().title(title).border_style(if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    });
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match which {
        Panel::Regions => {
            frame.render_widget(Paragraph::new(region_lines(state, inner.width)), inner)
        }
        Panel::Latency => latency(state, frame, inner),
        Panel::Replication => {
            frame.render_widget(Paragraph::new(replication_lines(state, inner.width)), inner)
        }
        Panel::Streams => frame.render_widget(Paragraph::new(stream_lines(state)), inner),
        Panel::Assertions => frame.render_widget(
            Paragraph::new(assertion_lines(state, inner.width >= 60)),
            inner,
        ),
        Panel::Events => frame.render_widget(
            Paragraph::new(event_lines(state, inner.height as usize)),
            inner,
        ),
    }
}

fn header_line(state: &DashboardState) -> Line<'static> {
    let run_style = match state.run {
        RunState::Running => Style::new().fg(Color::Green),
        RunState::Paused => Style::new().fg(Color::Yellow),
        RunState::Finishing | RunState::Finished => Style::new().fg(Color::Cyan),
    }
    .add_modifier(Modifier::BOLD);
    let measured = state.measured_x.map_or(String::new(), |x| {
        if x < 100.0 {
            format!(" ({x:.1}x)")
        } else {
            format!(" ({x:.0}x)")
        }
    });
    let mut spans = vec![
        Span::styled(
            format!("{} ", state.scenario),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("seed {} ", state.seed)),
        Span::raw(format!("{}/{} ", secs(state.now_us), secs(state.total_us))),
        Span::raw(format!("speed {}{measured} ", state.speed.label())),
        Span::styled(state.run.label(), run_style),
    ];
    if let Some(verdict) = &state.verdict {
        spans.push(Span::styled(
            format!(" {verdict}"),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    let faults = if state.active_faults.is_empty() {
        " faults: none".to_string()
    } else {
        format!(" faults: {}", state.active_faults.join(", "))
    };
    spans.push(Span::styled(faults, Style::new().fg(Color::Red)));
    Line::from(spans)
}

/// Two lines: phases and fault windows across the run, the now marker on both.
fn timeline_lines(state: &DashboardState, width: u16) -> Vec<Line<'static>> {
    const LABEL: usize = 7;
    let cols = (width as usize).saturating_sub(LABEL).max(1);
    let total = state.total_us.max(1);
    let col = |t: u64| ((t.min(total) as u128 * cols as u128) / total as u128) as usize;
    let now = col(state.now_us).min(cols - 1);
    let track = |label: &str, windows: &[Window], fill: char, style: Style| {
        let mut cells: Vec<(char, Style)> = vec![(' ', Style::new()); cols];
        for w in windows {
            let (from, to) = (
                col(w.start_us),
                col(w.end_us.unwrap_or(total)).max(col(w.start_us) + 1),
            );
            for cell in cells.iter_mut().take(to.min(cols)).skip(from) {
                *cell = (fill, style);
            }
            for (i, c) in w.label.chars().enumerate() {
                if from + i + 1 >= to.min(cols) {
                    break;
                }
                cells[from + i] = (c, style.add_modifier(Modifier::BOLD));
            }
        }
        cells[now].1 = cells[now].1.add_modifier(Modifier::REVERSED);
        if cells[now].0 == ' ' {
            cells[now].0 = '|';
        }
        let mut spans = vec![Span::raw(format!("{label:<LABEL$}"))];
        spans.extend(
            cells
                .into_iter()
                .map(|(c, s)| Span::styled(c.to_string(), s)),
        );
        Line::from(spans)
    };
    let mut phases = track("phases", &state.phases, '-', Style::new().fg(Color::Blue));
    // Auto scaling actions: a mark on the phase track at each action's time.
    for at_us in &state.scaling_us {
        if let Some(span) = phases.spans.get_mut(1 + col(*at_us).min(cols - 1)) {
            *span = Span::styled("^", span.style.fg(Color::Yellow));
        }
    }
    vec![
        phases,
        track("faults", &state.faults, '#', Style::new().fg(Color::Red)),
    ]
}

/// Consumers (one line each: invocations, failures, duplicates, failure destination,
/// backlog and iterator age), then provisioned capacity per table replica.
fn stream_lines(state: &DashboardState) -> Vec<Line<'static>> {
    let dim = Style::new().add_modifier(Modifier::DIM);
    let mut lines = Vec::new();
    if !state.consumers.is_empty() {
        lines.push(Line::styled("consumer@reg   inv fail dup dlq   age", dim));
    }
    for c in &state.consumers {
        let label = truncate(&format!("{}@{}", c.name, c.region), 13);
        let age_style = if c.iterator_age_us >= 60_000_000 {
            Style::new().fg(Color::Red)
        } else if c.iterator_age_us >= 5_000_000 {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{label:<13} {:>4} {:>4} {:>3} {:>3} ",
                compact(c.invocations),
                compact(c.failed_invocations),
                compact(c.duplicates),
                compact(c.to_failure_destination),
            )),
            Span::styled(ms(c.iterator_age_us), age_style),
        ]));
    }
    if !state.capacity.is_empty() {
        lines.push(Line::styled("capacity   used/provisioned/s", dim));
    }
    for c in &state.capacity {
        let label = truncate(&format!("{}@{}", c.table, c.region), 13);
        let use_style = |used: f64, provisioned: f64| {
            if provisioned > 0.0 && used >= provisioned {
                Style::new().fg(Color::Red)
            } else if provisioned > 0.0 && used >= 0.7 * provisioned {
                Style::new().fg(Color::Yellow)
            } else {
                Style::new()
            }
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{label:<13} ")),
            Span::styled(
                format!(
                    "R {:.0}/{:.0}",
                    c.consumed_read_per_s, c.provisioned_read_units
                ),
                use_style(c.consumed_read_per_s, c.provisioned_read_units),
            ),
            Span::raw(" "),
            Span::styled(
                format!(
                    "W {:.0}/{:.0}",
                    c.consumed_write_per_s, c.provisioned_write_units
                ),
                use_style(c.consumed_write_per_s, c.provisioned_write_units),
            ),
        ]));
    }
    lines
}

/// A count in at most four characters (1234 -> 1.2k).
fn compact(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{}k", n / 1_000),
        _ => format!("{}M", n / 1_000_000),
    }
}

fn region_lines(state: &DashboardState, width: u16) -> Vec<Line<'static>> {
    let name_w = state
        .regions
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(6)
        .max(6);
    // Narrow panels list the cut links on their own line instead of a column.
    let wide = width as usize >= name_w + 47;
    let mut lines = vec![Line::styled(
        format!(
            " {:<name_w$} AZs ops/s  thr  dax  clock{}",
            "region",
            if wide { " cut off from" } else { "" }
        ),
        Style::new().add_modifier(Modifier::DIM),
    )];
    for (i, r) in state.regions.iter().enumerate() {
        let mark = if i == state.selected {
            '>'
        } else if i == state.peer {
            '*'
        } else {
            ' '
        };
        let azs: String = if r.down {
            "DWN".into()
        } else {
            r.azs
                .iter()
                .map(|(_, up)| if *up { 'o' } else { 'x' })
                .collect()
        };
        let dax = r
            .dax_hit_ratio
            .map_or("   -".into(), |h| format!("{:>3.0}%", h * 100.0));
        let clock = format!("{:+.0}ms", r.clock_offset_us as f64 / 1e3);
        let style = if r.down || r.azs.iter().any(|(_, up)| !up) {
            Style::new().fg(Color::Red)
        } else if !r.cut_off_from.is_empty() {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        };
        let cut = if wide {
            format!(" {}", r.cut_off_from.join(","))
        } else {
            String::new()
        };
        lines.push(Line::styled(
            format!(
                "{mark}{:<name_w$} {azs} {:>5.0} {:>4.0} {dax} {clock:>6}{cut}",
                r.name, r.ops_per_s, r.throttles_per_s,
            ),
            style,
        ));
    }
    if !wide {
        let mut links = Vec::new();
        for (i, r) in state.regions.iter().enumerate() {
            for peer in &r.cut_off_from {
                let j = state.regions.iter().position(|x| &x.name == peer);
                if j.is_some_and(|j| j > i) {
                    links.push(format!("{} x {peer}", r.name));
                }
            }
        }
        if !links.is_empty() {
            lines.push(Line::styled(
                format!("cut: {}", links.join(", ")),
                Style::new().fg(Color::Yellow),
            ));
        }
    }
    let down_azs: Vec<String> = state
        .regions
        .iter()
        .flat_map(|r| r.azs.iter().filter(|(_, up)| !up).map(|(n, _)| n.clone()))
        .collect();
    if !down_azs.is_empty() {
        lines.push(Line::styled(
            format!("AZs down: {}", down_azs.join(", ")),
            Style::new().fg(Color::Red),
        ));
    }
    lines
}

fn latency(state: &DashboardState, frame: &mut Frame, area: Rect) {
    // Sparklines: one per region when there is room, else the selected region's.
    let series: Vec<_> = if area.height as usize >= 6 + 2 * state.latency_series.len() {
        state.latency_series.iter().collect()
    } else {
        state
            .latency_series
            .get(state.selected)
            .into_iter()
            .collect()
    };
    let spark_h = (series.len() * 2).min(area.height.saturating_sub(2) as usize) as u16;
    let [table, sparks] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(spark_h)]).areas(area);
    let op_w = if area.width >= 48 { 7 } else { 4 };
    let count = |n: String| {
        if area.width >= 48 {
            format!(" {n:>6}")
        } else {
            String::new()
        }
    };
    let mut lines = vec![Line::styled(
        format!(
            "{:<10} {:<op_w$}{} {:>6} {:>6} {:>6}",
            "region",
            "op",
            count("n".into()),
            "p50",
            "p99",
            "p99.9"
        ),
        Style::new().add_modifier(Modifier::DIM),
    )];
    for row in &state.latency {
        lines.push(Line::raw(format!(
            "{:<10} {:<op_w$}{} {:>6} {:>6} {:>6}",
            truncate(&row.region, 10),
            truncate(&row.op, op_w),
            count(row.count.to_string()),
            ms(row.p50_us),
            ms(row.p99_us),
            ms(row.p999_us)
        )));
    }
    if state.latency.is_empty() {
        lines.push(Line::raw(format!(
            "no ops in the last {}s",
            state.latency_window_s
        )));
    }
    frame.render_widget(Paragraph::new(lines), table);
    let mut y = sparks.y;
    for s in series {
        if y + 1 >= sparks.y + sparks.height.max(1) {
            break;
        }
        let w = sparks.width as usize;
        let data: Vec<u64> = s.p99_us[s.p99_us.len().saturating_sub(w)..].to_vec();
        let peak = data.iter().copied().max().unwrap_or(0);
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!("p99/s {} (peak {})", s.region, ms(peak)),
                Style::new().add_modifier(Modifier::DIM),
            )),
            Rect {
                y,
                height: 1,
                ..sparks
            },
        );
        frame.render_widget(
            Sparkline::default()
                .data(&data)
                .style(Style::new().fg(Color::Magenta)),
            Rect {
                y: y + 1,
                height: 1,
                ..sparks
            },
        );
        y += 2;
    }
}

fn replication_lines(state: &DashboardState, width: u16) -> Vec<Line<'static>> {
    const CELL: usize = 8;
    let short = |name: &str| truncate(name, CELL - 1);
    let mut head = format!("{:<10}", "p99 from\\to");
    for r in &state.regions {
        head.push_str(&format!(" {:>w$}", short(&r.name), w = CELL - 1));
    }
    let mut lines = vec![Line::styled(head, Style::new().add_modifier(Modifier::DIM))];
    for (from, row) in state.lag.iter().enumerate() {
        let name = state.regions.get(from).map_or("?", |r| r.name.as_str());
        let mut spans = vec![Span::raw(format!("{:<10}", truncate(name, 10)))];
        for cell in row {
            let (text, style) = match cell {
                Lag::None => ("-".to_string(), Style::new().add_modifier(Modifier::DIM)),
                Lag::Cut => ("∞".to_string(), Style::new().fg(Color::Red)),
                Lag::P99(us) => (ms(*us), Style::new()),
            };
            spans.push(Span::styled(format!(" {text:>w$}", w = CELL - 1), style));
        }
        lines.push(Line::from(spans));
    }
    let backlog: Vec<String> = state
        .streams
        .iter()
        .filter(|s| s.backlog > 0)
        .map(|s| format!("{}>{} {}", short(&s.from), short(&s.to), s.backlog))
        .collect();
    if backlog.is_empty() {
        lines.push(Line::raw("backlog: none"));
    }
    // Streams packed into lines that fit the panel.
    let mut line = String::from("backlog:");
    for item in backlog {
        if line.len() + 2 + item.len() > width as usize && line != "backlog:" {
            lines.push(Line::raw(std::mem::take(&mut line)));
            line.push_str("        ");
        }
        line.push_str("  ");
        line.push_str(&item);
    }
    if line.trim() != "backlog:" {
        lines.push(Line::raw(line));
    }
    lines.push(Line::raw(format!(
        "LWW overwrites: {}  reordered: {}",
        state.lww_overwrites, state.applied_out_of_order
    )));
    lines
}

fn assertion_lines(state: &DashboardState, wide: bool) -> Vec<Line<'static>> {
    let agreement = match state.agreement {
        Some((agree, items)) if items > 0 => format!(
            "replicas agree on {:.1}% of {items} items",
            agree as f64 * 100.0 / items as f64
        ),
        _ => "replicas agree on -".to_string(),
    };
    let mut lines = vec![Line::raw(agreement)];
    for a in &state.assertions {
        let style = match a.check {
            Check::Passing => Style::new().fg(Color::Green),
            Check::Failing => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Check::WaitingForHeal | Check::Converging => Style::new().fg(Color::Yellow),
            Check::AtEnd | Check::Unknown => Style::new().add_modifier(Modifier::DIM),
        };
        lines.push(Line::from(vec![
            Span::styled(
                if wide {
                    format!("{:<11}", a.check.label())
                } else {
                    format!("{:<5}", a.check.short_label())
                },
                style,
            ),
            Span::raw(a.name.clone()),
            Span::styled(
                if a.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", a.detail)
                },
                Style::new().add_modifier(Modifier::DIM),
            ),
        ]));
    }
    lines
}

fn event_lines(state: &DashboardState, rows: usize) -> Vec<Line<'static>> {
    let start = state.events.len().saturating_sub(rows);
    state.events[start..]
        .iter()
        .map(|e| {
            let style = match e.kind {
                LogKind::Fault | LogKind::Finding => Style::new().fg(Color::Red),
                LogKind::Heal => Style::new().fg(Color::Green),
                LogKind::Action => Style::new().fg(Color::Magenta),
                LogKind::Throttle | LogKind::Failover | LogKind::Scaling => {
                    Style::new().fg(Color::Yellow)
                }
                LogKind::Info => Style::new(),
            };
            Line::from(vec![
                Span::raw(format!("{:>7} ", secs(e.at_us))),
                Span::styled(format!("{:<8} ", e.kind.label()), style),
                Span::raw(e.text.clone()),
            ])
        })
        .collect()
}

fn footer_line(state: &DashboardState) -> Line<'static> {
    let hint = match state.run {
        RunState::Finished => "finished: q writes the report and exits  ".to_string(),
        _ => String::new(),
    };
    Line::styled(
        format!("{hint}{}", keymap::footer()),
        Style::new().add_modifier(Modifier::DIM),
    )
}

fn help(frame: &mut Frame, area: Rect) {
    let lines = keymap::help_lines();
    let width = area.width.saturating_sub(4).min(72);
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let text: Vec<Line<'static>> = lines
        .into_iter()
        .map(|(key, description)| {
            Line::from(vec![
                Span::styled(
                    format!("{key:>7}  "),
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::raw(description),
            ])
        })
        .collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text).block(Block::bordered().title(" keys (? or Esc to close) ")),
        rect,
    );
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}
