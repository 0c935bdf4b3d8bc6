//! The page `fgf serve` shows at `/`: paste a document or drop a file, see
//! its spans tinted by pillar, theme chips whose evidence is underlined on
//! hover or focus, the pillar shares and top themes, the model's labels,
//! and download the answer. Plain HTML, CSS and JavaScript in `web/`,
//! embedded in the binary (no build chain, no CDN, nothing fetched but this
//! server's own `/v1/tag` and `/v1/model`; the Content-Security-Policy says
//! so to the browser).

use axum::Router;
use axum::http::header;
use axum::routing::get;

const INDEX: &str = include_str!("web/index.html");
const SCRIPT: &str = include_str!("web/app.js");
/// The styles of the page and of the batch report.
pub const STYLE: &str = include_str!("web/app.css");
/// Drawing a TagResponse: spans tinted by pillar, chips that underline
/// their evidence, summary bars. Shared by the page and the batch report.
pub const RENDER_SCRIPT: &str = include_str!("web/render.js");
/// The batch report's own script (`fgf tag --html`): the sortable table
/// and the view of one document, drawn from the JSON embedded in the file.
pub const REPORT_SCRIPT: &str = include_str!("web/report.js");

/// Only this server: scripts, styles, fetches; no inline script.
const POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; \
                      base-uri 'none'; frame-ancestors 'none'";

/// `/`, `/render.js`, `/app.js` and `/app.css`.
pub fn router() -> Router {
    const ASSETS: [(&str, &str, &str); 4] = [
        ("/", "text/html; charset=utf-8", INDEX),
        (
            "/render.js",
            "text/javascript; charset=utf-8",
            RENDER_SCRIPT,
        ),
        ("/app.js", "text/javascript; charset=utf-8", SCRIPT),
        ("/app.css", "text/css; charset=utf-8", STYLE),
    ];
    ASSETS
        .into_iter()
        .fold(Router::new(), |router, (path, content_type, body)| {
            router.route(
                path,
                get(move || async move {
                    (
                        [
                            (header::CONTENT_TYPE, content_type),
                            (header::CONTENT_SECURITY_POLICY, POLICY),
                            (header::CACHE_CONTROL, "no-cache"),
                        ],
                        body,
                    )
                }),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for asset in [INDEX, SCRIPT, STYLE, RENDER_SCRIPT, REPORT_SCRIPT] {
            assert!(!asset.contains("http://") && !asset.contains("https://"));
            assert!(!asset.contains("//cdn") && !asset.contains("@import"));
        }
        assert!(INDEX.contains(r#"<script src="/render.js"></script>"#));
        assert!(INDEX.contains(r#"<script src="/app.js"></script>"#));
        assert!(
            !INDEX.contains("<script>"),
            "no inline script: the CSP forbids it"
        );
    }
}
