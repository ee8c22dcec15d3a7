//! SVG line charts, written by hand: a few polylines, axes and shaded fault windows are
//! all a report needs, and plain SVG keeps the output byte-stable for a seed.

use std::fmt::Write;

pub struct Series {
    pub name: String,
    /// (x seconds, y value) points, x ascending.
    pub points: Vec<(f64, f64)>,
}

pub struct Chart {
    pub title: String,
    pub y_label: String,
    pub x_max_s: f64,
    pub series: Vec<Series>,
    /// Shaded windows (start s, end s, label).
    pub shaded: Vec<(f64, f64, String)>,
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 40.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Chart {
    pub fn render(&self) -> String {
        let y_max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.1;
        let x_max = self.x_max_s.max(1e-9);
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let x = |v: f64| LEFT + v / x_max * plot_w;
        let y = |v: f64| TOP + plot_h - v / y_max * plot_h;
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="22" font-size="14">{}</text>"#,
            escape(&self.title)
        );
        for (start, end, label) in &self.shaded {
            let _ = writeln!(
                out,
                r##"<rect class="fault" x="{:.1}" y="{TOP}" width="{:.1}" height="{plot_h}" fill="#f4cccc" opacity="0.6"><title>{}</title></rect>"##,
                x(*start),
                (x(*end) - x(*start)).max(1.0),
                escape(label)
            );
        }
        let _ = writeln!(
            out,
            r#"<line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="black"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="black"/>"#,
            TOP + plot_h,
            LEFT + plot_w,
            TOP + plot_h,
            TOP + plot_h
        );
        for i in 0..=4 {
            let v = y_max * f64::from(i) / 4.0;
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{v:.1}</text>"#,
                LEFT - 6.0,
                y(v) + 4.0
            );
            let t = x_max * f64::from(i) / 4.0;
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{t:.0}s</text>"#,
                x(t),
                TOP + plot_h + 16.0
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">{}</text>"#,
            TOP + plot_h / 2.0,
            TOP + plot_h / 2.0,
            escape(&self.y_label)
        );
        for (i, s) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let mut points = String::new();
            for (px, py) in &s.points {
                let _ = write!(points, "{:.1},{:.1} ", x(*px), y(*py));
            }
            let _ = writeln!(
                out,
                r#"<polyline class="series" data-name="{}" fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
                escape(&s.name),
                points.trim_end()
            );
            let ly = TOP + 14.0 * i as f64 + 6.0;
            let _ = writeln!(
                out,
                r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                LEFT + plot_w + 10.0,
                LEFT + plot_w + 30.0,
                LEFT + plot_w + 34.0,
                ly + 4.0,
                escape(&s.name)
            );
        }
        out.push_str("</svg>\n");
        out
    }
}
