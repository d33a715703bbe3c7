//! End-to-end tests of `venvdeb wheels sync` against an HTTP server on
//! 127.0.0.1 run by the test itself (so that it can cut a transfer short,
//! send other bytes, or redirect): a full sync, a second sync that fetches
//! nothing, a resumed sync after an interrupted download, and a tampered
//! wheel, a short wheel, a tampered list, a bad signature, a redirect to
//! another host and a listed name with a path, each refused (exit 3) with
//! nothing kept. The index is the bundled example's wheels published by
//! `venvdeb wheels index --sums --signature`; signatures are made and
//! checked with the real gpg and venvdeb's OpenPGP code.
mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use common::{ok, publish_example, repo, run, scratch, sha256_file, venvdeb};

/// What the server does differently for one path.
#[derive(Clone)]
enum Rule {
    /// Serve these bytes instead of the file's.
    Replace(Vec<u8>),
    /// Announce the whole length but send only this many bytes, then close
    /// (the next `times` requests; after that, serve normally).
    Cut { after: usize, times: usize },
    /// Answer 302 with this Location.
    Redirect(String),
}

#[derive(Default)]
struct State {
    rules: HashMap<String, Rule>,
    /// (path, Range header) of every request, in order.
    log: Vec<(String, Option<String>)>,
}

/// A small HTTP/1.1 server for a directory: GET only, `Range: bytes=N-`
/// answered with 206, one request per connection.
struct Server {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let root = root.clone();
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &root, &st);
                });
            }
        });
        Server { port, state }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/simple", self.port)
    }

    fn rule(&self, path: &str, rule: Rule) {
        self.state
            .lock()
            .unwrap()
            .rules
            .insert(path.to_string(), rule);
    }

    fn take_log(&self) -> Vec<(String, Option<String>)> {
        std::mem::take(&mut self.state.lock().unwrap().log)
    }
}

fn serve(mut conn: TcpStream, root: &Path, st: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split(' ').nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    let rule = {
        let mut s = st.lock().unwrap();
        s.log.push((path.clone(), range.clone()));
        let r = s.rules.get(&path).cloned();
        if let Some(Rule::Cut { after, times }) = &r {
            if *times <= 1 {
                s.rules.remove(&path);
            } else {
                s.rules.insert(
                    path.clone(),
                    Rule::Cut {
                        after: *after,
                        times: times - 1,
                    },
                );
            }
        }
        r
    };
    if let Some(Rule::Redirect(to)) = &rule {
        return conn.write_all(
            format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
    }
    let rel = path.trim_start_matches('/');
    let decoded = rel.replace("%2B", "+");
    let body = match &rule {
        Some(Rule::Replace(b)) => b.clone(),
        _ => match std::fs::read(root.join(&decoded)) {
            Ok(b) => b,
            Err(_) => {
                return conn.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
            }
        },
    };
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n < body.len());
    let (head, part) = match start {
        Some(s) => (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len() - 1,
                body.len(),
                body.len() - s
            ),
            &body[s..],
        ),
        None => (
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ),
            &body[..],
        ),
    };
    conn.write_all(head.as_bytes())?;
    match rule {
        Some(Rule::Cut { after, .. }) => {
            conn.write_all(&part[..after.min(part.len())])?;
            conn.flush()?;
            // Close without the rest.
            conn.shutdown(std::net::Shutdown::Both)
        }
        _ => conn.write_all(part),
    }
}

fn sync(server: &Server, out: &Path, extra: &[&str]) -> Output {
    run(venvdeb()
        .args(["wheels", "sync", "--index"])
        .arg(server.url())
        .arg("--keyring")
        .arg(repo().join("example/keyring.gpg"))
        .arg("--output")
        .arg(out)
        .args(extra)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy"))
}

/// The example's listed wheels: (file name, sha256).
fn listed() -> Vec<(String, String)> {
    std::fs::read_to_string(repo().join("example/sha256sums.txt"))
        .unwrap()
        .lines()
        .map(|l| (l[66..].to_string(), l[..64].to_string()))
        .collect()
}

fn project_path(name: &str) -> String {
    let project = name
        .split('-')
        .next()
        .unwrap()
        .to_ascii_lowercase()
        .replace(['_', '.'], "-");
    format!("/simple/{project}/{}", name.replace('+', "%2B"))
}

fn wheels_in(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".whl"))
        .collect();
    v.sort();
    v
}

fn refused(out: &Output, dest: &Path, words: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(3),
        "expected exit 3; stderr:\n{err}"
    );
    for w in words {
        assert!(err.contains(w), "stderr lacks {w:?}:\n{err}");
    }
    assert!(
        !dest.exists(),
        "{} was kept after a refusal: {:?}",
        dest.display(),
        std::fs::read_dir(dest).map(|r| r.count())
    );
    err
}

/// Sign `file` with a test key (real gpg, throwaway GNUPGHOME).
fn sign(key: &str, file: &Path, sig: &Path) {
    let home = scratch();
    ok(Command::new("gpg")
        .args(["--batch", "--quiet", "--import"])
        .arg(repo().join(format!("fixtures/keys/{key}.secret.asc")))
        .env("GNUPGHOME", home.path()));
    ok(Command::new("gpg")
        .args(["--batch", "--yes", "--armor", "--detach-sign", "-o"])
        .arg(sig)
        .arg(file)
        .env("GNUPGHOME", home.path()));
}

#[test]
fn full_sync_then_a_second_that_fetches_nothing() {
    let d = scratch();
    let server = Server::start(publish_example(d.path()));
    let out = d.path().join("new/wheelhouse");
    let o = sync(&server, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = listed();
    for (name, sha) in &want {
        assert_eq!(&sha256_file(&out.join(name)), sha, "{name}");
    }
    assert_eq!(
        std::fs::read(out.join("sha256sums.txt")).unwrap(),
        std::fs::read(repo().join("example/sha256sums.txt")).unwrap()
    );
    assert_eq!(
        std::fs::read(out.join("sha256sums.txt.asc")).unwrap(),
        std::fs::read(repo().join("example/sha256sums.txt.asc")).unwrap()
    );
    assert!(!out.join(".venvdeb-sync").exists(), "staging left behind");
    let log = server.take_log();
    let paths: Vec<&str> = log.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        &paths[..2],
        ["/simple/sha256sums.txt", "/simple/sha256sums.txt.asc"]
    );
    for (name, _) in &want {
        assert!(
            paths.contains(&project_path(name).as_str()),
            "{name} not fetched from its project directory: {paths:?}"
        );
    }
    assert_eq!(paths.len(), 2 + want.len(), "{paths:?}");

    // The synced directory verifies as the example's wheelhouse.
    ok(venvdeb()
        .arg("verify")
        .arg("--wheelhouse")
        .arg(&out)
        .arg("--lock")
        .arg(repo().join("example/requirements.txt"))
        .arg("--sums")
        .arg(out.join("sha256sums.txt"))
        .arg("--signature")
        .arg(out.join("sha256sums.txt.asc"))
        .arg("--keyring")
        .arg(repo().join("example/keyring.gpg")));

    // Second run: only the list and its signature.
    let o = sync(&server, &out, &[]);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("0 fetched"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let paths: Vec<String> = server.take_log().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        ["/simple/sha256sums.txt", "/simple/sha256sums.txt.asc"]
    );

    // A wheel that differs locally is fetched again; nothing else is.
    let (name, sha) = &want[0];
    std::fs::write(out.join(name), b"local damage").unwrap();
    assert!(sync(&server, &out, &[]).status.success());
    assert_eq!(&sha256_file(&out.join(name)), sha);
    let paths: Vec<String> = server.take_log().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert_eq!(paths[2], project_path(name));
}

#[test]
fn interrupted_download_resumes_with_a_range_request() {
    let d = scratch();
    let server = Server::start(publish_example(d.path()));
    let out = d.path().join("wh");
    let (name, sha) = listed()
        .into_iter()
        .find(|(n, _)| n.starts_with("charset_normalizer"))
        .unwrap();
    let path = project_path(&name);
    server.rule(
        &path,
        Rule::Cut {
            after: 50_000,
            times: 1,
        },
    );
    // No retries: the run fails (a network error: exit 2), keeping the part.
    let o = sync(&server, &out, &["--retries", "0"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("broke off") || err.contains("ended after"),
        "{err}"
    );
    assert!(
        wheels_in(&out).is_empty(),
        "wheels placed after a failed run"
    );
    let part = out.join(format!(".venvdeb-sync/{sha}.part"));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 50_000);
    server.take_log();

    // The next run asks for the rest only.
    let o = sync(&server, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    assert!(err.contains("1 resumed"), "{err}");
    assert_eq!(sha256_file(&out.join(&name)), sha);
    let log = server.take_log();
    let req = log.iter().find(|(p, _)| p == &path).expect("refetched");
    assert_eq!(req.1.as_deref(), Some("bytes=50000-"));
    assert_eq!(wheels_in(&out).len(), listed().len());

    // Within one run: a cut transfer is retried from where it stopped.
    let out2 = d.path().join("wh2");
    server.rule(
        &path,
        Rule::Cut {
            after: 70_000,
            times: 1,
        },
    );
    let o = sync(&server, &out2, &["--retries", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(sha256_file(&out2.join(&name)), sha);
    let ranges: Vec<Option<String>> = server
        .take_log()
        .into_iter()
        .filter(|(p, _)| p == &path)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(ranges, [None, Some("bytes=70000-".to_string())]);
}

#[test]
fn a_tampered_or_short_wheel_is_refused_and_nothing_kept() {
    let d = scratch();
    let root = publish_example(d.path());
    let server = Server::start(root.clone());
    let want = listed();
    let (name, sha) = want
        .iter()
        .find(|(n, _)| n.starts_with("tabulate"))
        .unwrap();
    let path = project_path(name);
    let real = std::fs::read(root.join(&path[1..])).unwrap();
    let mut other = real.clone();
    let mid = other.len() / 2;
    other[mid] ^= 1;
    server.rule(&path, Rule::Replace(other));
    let out = d.path().join("wh");
    let o = sync(&server, &out, &[]);
    refused(&o, &out, &[name, sha, "received sha256"]);

    // A complete response with fewer bytes (a truncated file).
    server.rule(&path, Rule::Replace(real[..real.len() - 100].to_vec()));
    let o = sync(&server, &out, &[]);
    refused(&o, &out, &[name, sha]);

    // Into an existing wheelhouse: the good wheels there stay, nothing is added.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = sync(&server, &out, &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(wheels_in(&out).is_empty());
    assert!(!out.join(".venvdeb-sync").exists());
    assert!(!out.join("sha256sums.txt").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_tampered_list_or_bad_signature_is_refused_before_any_wheel() {
    let d = scratch();
    let root = publish_example(d.path());
    let server = Server::start(root.clone());
    let out = d.path().join("wh");
    let sums = std::fs::read_to_string(root.join("simple/sha256sums.txt")).unwrap();

    // The list with one hash changed, the original signature.
    let first = sums.chars().next().unwrap();
    let flipped = if first == '0' { '1' } else { '0' };
    let tampered = format!("{flipped}{}", &sums[1..]);
    server.rule(
        "/simple/sha256sums.txt",
        Rule::Replace(tampered.into_bytes()),
    );
    let o = sync(&server, &out, &[]);
    refused(&o, &out, &["sha256sums.txt", "BAD signature"]);
    let paths: Vec<String> = server.take_log().into_iter().map(|(p, _)| p).collect();
    assert!(paths.iter().all(|p| !p.ends_with(".whl")), "{paths:?}");

    // The right list signed by a key outside the keyring.
    server.state.lock().unwrap().rules.clear();
    let other = d.path().join("other.asc");
    sign("test-key-b", &root.join("simple/sha256sums.txt"), &other);
    server.rule(
        "/simple/sha256sums.txt.asc",
        Rule::Replace(std::fs::read(&other).unwrap()),
    );
    let o = sync(&server, &out, &[]);
    let key_b =
        std::fs::read_to_string(repo().join("fixtures/keys/test-key-b.fingerprint")).unwrap();
    refused(&o, &out, &["found 0", key_b.trim()]);

    // Not a signature at all.
    server.rule(
        "/simple/sha256sums.txt.asc",
        Rule::Replace(
            b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n".to_vec(),
        ),
    );
    let o = sync(&server, &out, &[]);
    refused(&o, &out, &["sha256sums.txt.asc"]);
    let paths: Vec<String> = server.take_log().into_iter().map(|(p, _)| p).collect();
    assert!(paths.iter().all(|p| !p.ends_with(".whl")), "{paths:?}");
}

#[test]
fn a_listed_name_with_a_path_is_refused() {
    let d = scratch();
    let root = publish_example(d.path());
    let server = Server::start(root.clone());
    let out = d.path().join("wh");
    let sums = root.join("simple/sha256sums.txt");
    let mut text = std::fs::read_to_string(&sums).unwrap();
    text.push_str(&format!(
        "{}  ../evil-1.0-py3-none-any.whl\n",
        "ab".repeat(32)
    ));
    std::fs::write(&sums, text).unwrap();
    sign("test-key-a", &sums, &root.join("simple/sha256sums.txt.asc"));
    let o = sync(&server, &out, &[]);
    refused(&o, &out, &["evil-1.0-py3-none-any.whl"]);
    assert!(!d.path().join("evil-1.0-py3-none-any.whl").exists());
}

#[test]
fn a_redirect_to_another_host_is_refused_one_on_the_same_host_followed() {
    let d = scratch();
    let root = publish_example(d.path());
    let server = Server::start(root.clone());
    let want = listed();
    let (name, sha) = want.iter().find(|(n, _)| n.starts_with("demoapp")).unwrap();
    let path = project_path(name);
    // Same host: followed.
    let mirror = d.path().join("pub/mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::copy(root.join(&path[1..]), mirror.join(name)).unwrap();
    server.rule(&path, Rule::Redirect(format!("/mirror/{name}")));
    let out = d.path().join("wh");
    let o = sync(&server, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(&sha256_file(&out.join(name)), sha);
    std::fs::remove_dir_all(&out).unwrap();

    // Another host (same port, other name): refused.
    server.rule(
        &path,
        Rule::Redirect(format!("http://localhost:{}/mirror/{name}", server.port)),
    );
    let o = sync(&server, &out, &[]);
    refused(&o, &out, &["redirected", "localhost"]);
}

#[test]
fn file_urls_sync_too() {
    let d = scratch();
    let root = publish_example(d.path());
    let out = d.path().join("wh");
    let url = format!("file://{}", root.join("simple").display());
    let o = run(venvdeb()
        .args(["wheels", "sync", "--index", &url, "--keyring"])
        .arg(repo().join("example/keyring.gpg"))
        .arg("--output")
        .arg(&out));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (name, sha) in listed() {
        assert_eq!(sha256_file(&out.join(&name)), sha);
    }
}

/// Build the bundled example into `dir/out`; returns the .deb.
fn build_example(dir: &Path) -> PathBuf {
    common::build_example_copy(dir)
        .1
        .join("demoapp_1.0.0-1_amd64.deb")
}

fn rebuild_from_index(server: &Server, deb: &str, result: &Path) -> Output {
    run(venvdeb()
        .args(["rebuild", "--check", deb, "--index"])
        .arg(server.url())
        .arg("--keyring")
        .arg(repo().join("example/keyring.gpg"))
        .arg("--result")
        .arg(result)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY"))
}

#[test]
fn rebuild_from_the_package_alone_syncing_its_inputs() {
    let d = scratch();
    let root = publish_example(d.path());
    let deb = build_example(&d.path().join("b"));
    // The package is served too: DEB given as a URL.
    let pool = root.join("pool");
    std::fs::create_dir_all(&pool).unwrap();
    std::fs::copy(&deb, pool.join("demoapp_1.0.0-1_amd64.deb")).unwrap();
    let server = Server::start(root.clone());
    let url = format!(
        "http://127.0.0.1:{}/pool/demoapp_1.0.0-1_amd64.deb",
        server.port
    );
    let result = d.path().join("result.json");
    let o = rebuild_from_index(&server, &url, &result);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.starts_with("identical:"), "{out}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(r["identical"], true);
    assert_eq!(r["package_sha256"], sha256_file(&deb));
    assert_eq!(r["rebuilt_sha256"], sha256_file(&deb));
    // Only the package, the list, its signature and the manifest's wheels.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(deb.with_file_name("demoapp_1.0.0-1_amd64.venvdeb-manifest.json")).unwrap(),
    )
    .unwrap();
    let wheels = manifest["wheels"].as_array().unwrap();
    let paths: Vec<String> = server.take_log().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths.len(), 3 + wheels.len(), "{paths:?}");
    for w in wheels {
        let name = w["filename"].as_str().unwrap();
        assert!(paths.contains(&project_path(name)), "{name}: {paths:?}");
    }

    // A local package with its statement beside it: checked too.
    let o = rebuild_from_index(&server, deb.to_str().unwrap(), &result);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert!(r["statement"].as_str().unwrap().ends_with(".intoto.json"));

    // Altered after the build (one installed file changed, repacked with
    // dpkg-deb): the rebuild differs and names the file; exit 1.
    let x = d.path().join("x");
    ok(Command::new("dpkg-deb").arg("-R").arg(&deb).arg(&x));
    let g = x.join("opt/venvs/demoapp/share/demoapp/greeting.txt");
    std::fs::write(&g, "altered after the build\n").unwrap();
    let altered_dir = d.path().join("altered");
    std::fs::create_dir(&altered_dir).unwrap();
    let altered = altered_dir.join("demoapp_1.0.0-1_amd64.deb");
    ok(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&x)
        .arg(&altered)
        .env("SOURCE_DATE_EPOCH", "1704067200"));
    let o = rebuild_from_index(&server, altered.to_str().unwrap(), &result);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("greeting.txt"), "{out}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(r["identical"], false);
    assert_eq!(r["rebuilt_sha256"], sha256_file(&deb));

    // The index does not vouch for the package's wheels: refused (exit 3).
    server.rule(
        "/simple/sha256sums.txt.asc",
        Rule::Replace(b"not a signature".to_vec()),
    );
    let o = rebuild_from_index(&server, deb.to_str().unwrap(), &result);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_second_sync_into_the_same_directory_waits_for_the_first() {
    let d = scratch();
    let server = Server::start(publish_example(d.path()));
    let out = d.path().join("wheelhouse");
    std::fs::create_dir(&out).unwrap();
    // Another sync's lock on DIR (util-linux flock, as the sync takes it),
    // held for 3 s after it is taken: the sync says it waits, and completes
    // once it is released.
    let held = d.path().join("held");
    let mut holder = Command::new("flock")
        .arg(&out)
        .args(["sh", "-c", "touch \"$0\"; sleep 3"])
        .arg(&held)
        .spawn()
        .unwrap();
    while !held.exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = sync(&server, &out, &[]);
    holder.wait().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("waiting for another sync into"), "{err}");
    assert_eq!(wheels_in(&out).len(), listed().len());
}

#[test]
fn rebuild_from_the_package_alone_keeps_a_configured_depends() {
    let d = scratch();
    let root = publish_example(d.path());
    let ex = common::copy_example(&d.path().join("b"));
    let cfg = ex.join("venvdeb.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "section = \"python\"",
        "section = \"python\"\ndepends = \"adduser (>= 3),bash\"",
    );
    std::fs::write(&cfg, text).unwrap();
    let out = d.path().join("out");
    ok(venvdeb()
        .arg("build")
        .arg("--config")
        .arg(&cfg)
        .arg("--output-dir")
        .arg(&out));
    let deb = out.join(common::example_deb());
    let depends = ok(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Depends"));
    assert!(
        depends.starts_with("python3 (") && depends.trim_end().ends_with(", adduser (>= 3), bash"),
        "{depends}"
    );
    let server = Server::start(root);
    let result = d.path().join("result.json");
    let o = rebuild_from_index(&server, deb.to_str().unwrap(), &result);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && stdout.starts_with("identical:"),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
