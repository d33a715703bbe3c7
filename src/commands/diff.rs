//! `venvdeb diff A.deb B.deb [--json] [--content]`: compare two Debian
//! packages (any, not only venvdeb's) and name every difference. Exit 0 when
//! the files are identical, 1 when they differ (report on stdout), 2 on error.
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::inspect::content::{content_diffs, ContentDiff, CONTENT_LIMIT};
use crate::inspect::diff::{compare_files, files_identical, Difference};
use crate::inspect::view::read_view;

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The first package (A)
    pub a: PathBuf,
    /// The second package (B)
    pub b: PathBuf,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// Add unified diffs of text files that differ (each side at most 1 MiB)
    #[arg(long)]
    pub content: bool,
}

fn json_side(path: &std::path::Path, sha256: &str, size: u64) -> serde_json::Value {
    serde_json::json!({ "path": path.display().to_string(), "sha256": sha256, "size": size })
}

pub(crate) fn run(args: &DiffArgs) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if files_identical(&args.a, &args.b)? {
        // Still prove it is a readable package ("identical" garbage is an
        // error); the bytes are the same, so reading A once is enough.
        let summary = read_view(&args.a)?.summary;
        if args.json {
            let (sha, size) = (summary.sha256.clone(), summary.size);
            let v = serde_json::json!({
                "identical": true,
                "a": json_side(&args.a, &sha, size),
                "b": json_side(&args.b, &sha, size),
                "differences": [],
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        } else {
            writeln!(
                out,
                "identical: {} ({} bytes, sha256 {})",
                args.b.display(),
                summary.size,
                summary.sha256
            )?;
        }
        return Ok(());
    }
    let cmp = compare_files(&args.a, &args.b)?;
    let contents: Vec<ContentDiff> = if args.content {
        content_diffs(&cmp, &args.a, &args.b).context("computing content diffs")?
    } else {
        Vec::new()
    };
    let n = cmp.differences.len();
    if args.json {
        let mut v = serde_json::json!({
            "identical": false,
            "a": json_side(&args.a, &cmp.a.summary.sha256, cmp.a.summary.size),
            "b": json_side(&args.b, &cmp.b.summary.sha256, cmp.b.summary.size),
            "differences": cmp.differences,
        });
        if args.content {
            v["content"] = serde_json::to_value(&contents)?;
            v["content_limit"] = CONTENT_LIMIT.into();
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            out,
            "--- A {}\n+++ B {}",
            args.a.display(),
            args.b.display()
        )?;
        for d in &cmp.differences {
            writeln!(out, "{}", Difference::line(d))?;
        }
        for c in &contents {
            match (&c.diff, &c.skipped) {
                (Some(d), _) => write!(out, "\n{} {}: content:\n{d}", c.area, c.path)?,
                (None, Some(why)) => {
                    writeln!(out, "\n{} {}: content not shown: {why}", c.area, c.path)?
                }
                _ => {}
            }
        }
    }
    out.flush()?;
    Err(crate::exit::differs(format!(
        "{} and {} differ ({})",
        args.a.display(),
        args.b.display(),
        crate::exit::count(n, "difference")
    )))
}
