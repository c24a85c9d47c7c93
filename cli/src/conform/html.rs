//! The `--html FILE` report: one self-contained page (no network, no
//! external files), a row per case with its id, section, level, outcome,
//! reason, and the bytes sent and received (hex and decoded), filterable by
//! outcome. The counts at the top are computed by the page's script from
//! its rows, so a browser that renders them has read every row.

use super::report::{Status, Summary, Verdict};
use crate::hex;

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Shown bytes are cut here: the page stays small for 1000-message cases.
const SHOWN_BYTES_MAX: usize = 4096;

fn bytes_cell(bytes: &[u8], decoded: &str) -> String {
    if bytes.is_empty() && decoded.is_empty() {
        return String::new();
    }
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES_MAX)];
    let more = if shown.len() < bytes.len() {
        format!(" ... ({} bytes in all)", bytes.len())
    } else {
        String::new()
    };
    format!(
        "<details><summary>{} bytes</summary><pre class=\"hex\">{}{}</pre><pre class=\"dec\">{}</pre></details>",
        bytes.len(),
        esc(&hex::encode(shown)),
        esc(&more),
        esc(decoded)
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;width:100%}\
td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top;font-size:13px}\
pre{white-space:pre-wrap;word-break:break-all;margin:0}.hex{color:#555}\
tr.pass td.o{background:#cfc}tr.fail td.o,tr.xpass td.o{background:#f99}tr.warn td.o{background:#fe9}\
tr.xfail td.o{background:#ddf}tr.skip td.o,tr.unimpl td.o{background:#eee}\
label{margin-right:1em}";

const SCRIPT: &str = r#"
function refresh() {
  var on = {};
  document.querySelectorAll('input.f').forEach(function (b) { on[b.value] = b.checked; });
  var shown = 0;
  document.querySelectorAll('tr.case').forEach(function (r) {
    var v = on[r.dataset.status];
    r.style.display = v ? '' : 'none';
    if (v) shown++;
  });
  document.getElementById('shown').textContent = String(shown);
}
function count() {
  var n = {};
  document.querySelectorAll('tr.case').forEach(function (r) {
    n[r.dataset.status] = (n[r.dataset.status] || 0) + 1;
  });
  document.querySelectorAll('span.count').forEach(function (s) {
    s.textContent = String(n[s.dataset.status] || 0);
  });
  document.getElementById('total').textContent = String(document.querySelectorAll('tr.case').length);
}
document.querySelectorAll('input.f').forEach(function (b) { b.addEventListener('change', refresh); });
count();
refresh();
document.body.dataset.ready = 'yes';
"#;

/// The page.
pub fn html(verdicts: &[Verdict], summary: &Summary, title: &str) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!("<title>{}</title>", esc(title)));
    out.push_str(&format!("<style>{STYLE}</style></head><body>\n"));
    out.push_str(&format!(
        "<h1>{}</h1>\n<p id=\"closing\">{}</p>\n<p>",
        esc(title),
        esc(&summary.closing_line())
    ));
    for s in Status::ALL {
        let key = s.as_str().to_lowercase();
        // Checked by default: everything but the passes, which drown the rest.
        let checked = if s == Status::Pass { "" } else { " checked" };
        out.push_str(&format!(
            "<label><input type=\"checkbox\" class=\"f\" value=\"{key}\"{checked}> {} \
             (<span class=\"count\" data-status=\"{key}\">?</span>)</label>",
            s.name()
        ));
    }
    out.push_str(
        "</p>\n<p><span id=\"shown\">?</span> of <span id=\"total\">?</span> cases shown</p>\n",
    );
    out.push_str("<table><thead><tr><th>outcome</th><th>id</th><th>section</th><th>level</th>\
                  <th>what</th><th>reason</th><th>sent</th><th>received</th><th>ms</th></tr></thead><tbody>\n");
    for v in verdicts {
        let key = v.status.as_str().to_lowercase();
        let mut reason = v.seen().unwrap_or("").to_string();
        if let Some(why) = &v.expected {
            reason = format!("listed in --expect: {why}. {reason}");
        }
        out.push_str(&format!(
            "<tr class=\"case {key}\" data-status=\"{key}\" id=\"{}\"><td class=\"o\">{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td><pre>{}</pre></td><td>{}</td><td>{}</td><td>{:.1}</td></tr>\n",
            esc(&v.id),
            v.status.as_str(),
            esc(&v.id),
            esc(&v.section),
            v.level.as_str(),
            esc(&v.what),
            esc(&reason),
            bytes_cell(&v.evidence.sent, &v.evidence.sent_decoded),
            bytes_cell(&v.evidence.received, &v.evidence.received_decoded),
            v.time.as_secs_f64() * 1000.0
        ));
    }
    out.push_str("</tbody></table>\n");
    out.push_str(&format!("<script>{SCRIPT}</script>\n</body></html>\n"));
    out
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\\u{1}"
        );
    }
}
