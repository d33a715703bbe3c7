//! `venvdeb wheels sync` over real TLS: an HTTPS server on 127.0.0.1
//! (Debian's python3 `http.server` wrapped in its `ssl` module) with a
//! certificate from a throwaway CA made by the test with the real
//! `openssl`. The CA is trusted only through `SSL_CERT_FILE`, which the
//! platform verifier's native store reads on Linux in place of
//! /etc/ssl/certs: a full sync succeeds with it; without it (the system
//! store, which does not know the CA) and with a certificate for another
//! name, the sync is refused and nothing is kept.
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::{ok, publish_example, repo, run, scratch, sha256_file, venvdeb};

/// A CA, and two server certificates it signed: one for IP 127.0.0.1, one
/// for DNS example.org only.
fn make_certs(dir: &Path) {
    let sh = |args: &[&str]| {
        ok(Command::new("openssl").args(args).current_dir(dir));
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    sh(&[
        &["req", "-x509"][..],
        &ec[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=venvdeb test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    ]
    .concat());
    for (name, san, serial) in [
        ("ip", "IP:127.0.0.1", "2"),
        ("other", "DNS:example.org", "3"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("subjectAltName={san}\nextendedKeyUsage=serverAuth\n"),
        )
        .unwrap();
        sh(&[
            &["req"][..],
            &ec[..],
            &[
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                "/CN=venvdeb test server",
            ],
        ]
        .concat());
        sh(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            serial,
            "-days",
            "3650",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ]);
    }
}

/// An HTTPS server for `root`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(root: &Path, cert: &Path, key: &Path) -> Server {
        let script = r#"
import functools, http.server, ssl, sys
root, cert, key = sys.argv[1:4]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;
        let mut child = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .arg(root)
            .arg(cert)
            .arg(key)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the HTTPS server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server printed no port");
        Server { child, port }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/simple", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sync(url: &str, out: &Path, ca: Option<&Path>) -> Output {
    let mut c = venvdeb();
    c.args(["wheels", "sync", "--index", url, "--keyring"])
        .arg(repo().join("example/keyring.gpg"))
        .arg("--output")
        .arg(out);
    for v in [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "https_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        c.env_remove(v);
    }
    if let Some(ca) = ca {
        c.env("SSL_CERT_FILE", ca);
    }
    run(&mut c)
}

#[test]
fn sync_over_https_trusts_the_ca_store_and_nothing_else() {
    let d = scratch();
    make_certs(d.path());
    let root = publish_example(d.path());
    let ca = d.path().join("ca.pem");

    // The system store does not know the test CA: refused, nothing kept.
    let good = Server::start(&root, &d.path().join("ip.pem"), &d.path().join("ip.key"));
    let out = d.path().join("untrusted");
    let o = sync(&good.url(), &out, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "synced from an untrusted server");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(!out.exists(), "{} kept after a refused sync", out.display());

    // A certificate from the trusted CA, but for another name: refused.
    let other = Server::start(
        &root,
        &d.path().join("other.pem"),
        &d.path().join("other.key"),
    );
    let out = d.path().join("wrong-name");
    let o = sync(&other.url(), &out, Some(&ca));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "synced from a server with another name"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(!out.exists(), "{} kept after a refused sync", out.display());

    // The CA trusted, the right name: every listed wheel, verified.
    let out = d.path().join("synced");
    let o = sync(&good.url(), &out, Some(&ca));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sums = std::fs::read_to_string(repo().join("example/sha256sums.txt")).unwrap();
    let mut n = 0;
    for l in sums.lines() {
        let (sha, name) = (&l[..64], &l[66..]);
        assert_eq!(sha256_file(&out.join(name)), sha, "{name}");
        n += 1;
    }
    assert!(n >= 5, "only {n} wheels listed");
}
