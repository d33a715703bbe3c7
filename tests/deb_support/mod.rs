//! Package trees for the .deb writer's end-to-end tests, holding every case
//! the writer must get right, and the helpers that run the real dpkg-deb.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use filetime::FileTime;

/// The SOURCE_DATE_EPOCH every test uses (2023-11-14).
pub const SDE: u64 = 1_700_000_000;
/// Newer than SDE: must be clamped.
pub const NEWER: i64 = 2_000_000_000;
/// Older than SDE: kept.
pub const OLDER: i64 = 946_684_800;
/// Before 1970: GNU tar writes it in base-256.
pub const NEGATIVE: i64 = -315_619_200;

pub const CONTROL: &str = "Package: venvdeb-test\nVersion: 1:2.0~rc1-3\nArchitecture: all\n\
Maintainer: Test <test@example.org>\nDescription: test package\n a tree with every case\n";

enum Op {
    Dir {
        path: Vec<u8>,
        mode: u32,
        mtime: i64,
    },
    File {
        path: Vec<u8>,
        data: Vec<u8>,
        mode: u32,
        mtime: i64,
    },
    Symlink {
        path: Vec<u8>,
        target: Vec<u8>,
        mtime: Option<i64>,
    },
    HardLink {
        path: Vec<u8>,
        to: Vec<u8>,
    },
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// The operations that make the standard tree (names relative to the root).
fn ops(with_script: bool) -> Vec<Op> {
    let mut v = vec![
        Op::Dir {
            path: b("DEBIAN"),
            mode: 0o755,
            mtime: OLDER,
        },
        Op::File {
            path: b("DEBIAN/control"),
            data: b(CONTROL),
            mode: 0o644,
            mtime: NEWER,
        },
        Op::File {
            path: b("DEBIAN/conffiles"),
            data: b("/etc/venvdeb-test.conf\n"),
            mode: 0o644,
            mtime: OLDER,
        },
        Op::File {
            path: b("etc/venvdeb-test.conf"),
            data: b("key = value\n"),
            mode: 0o644,
            mtime: OLDER,
        },
        // Sort order: not a flat sort of full paths.
        Op::Dir {
            path: b("x"),
            mode: 0o755,
            mtime: NEWER,
        },
        Op::Dir {
            path: b("x/B"),
            mode: 0o2755,
            mtime: NEWER,
        },
        Op::File {
            path: b("x/_z"),
            data: b("z\n"),
            mode: 0o644,
            mtime: NEWER,
        },
        Op::Dir {
            path: b("x/a"),
            mode: 0o755,
            mtime: OLDER,
        },
        Op::File {
            path: b("x/a/child"),
            data: b("child\n"),
            mode: 0o644,
            mtime: OLDER,
        },
        Op::File {
            path: b("x/a-b"),
            data: b(""),
            mode: 0o600,
            mtime: OLDER,
        },
        Op::File {
            path: b("x/a.b"),
            data: b("odd"),
            mode: 0o444,
            mtime: NEGATIVE,
        },
        // Empty directories, special mode bits.
        Op::Dir {
            path: b("empty"),
            mode: 0o755,
            mtime: OLDER,
        },
        Op::Dir {
            path: b("tmp"),
            mode: 0o1777,
            mtime: NEWER,
        },
        Op::Dir {
            path: b("x/deep/er/est"),
            mode: 0o700,
            mtime: OLDER,
        },
        Op::File {
            path: b("usr/bin/tool"),
            data: b("#!/bin/sh\necho tool\n"),
            mode: 0o4755,
            mtime: OLDER,
        },
        // Non-ASCII and non-UTF-8 names.
        Op::File {
            path: b("usr/share/ünïcödé 日本.txt"),
            data: b("ü\n"),
            mode: 0o644,
            mtime: OLDER,
        },
        Op::File {
            path: b"usr/share/latin1-\xe9".to_vec(),
            data: b("e\n"),
            mode: 0o644,
            mtime: OLDER,
        },
        // Hard links: the first name in archive order carries the data.
        Op::File {
            path: b("z/orig"),
            data: b("shared bytes\n"),
            mode: 0o755,
            mtime: OLDER,
        },
        Op::HardLink {
            path: b("usr/bin/alias"),
            to: b("z/orig"),
        },
        Op::HardLink {
            path: b("a-first"),
            to: b("z/orig"),
        },
        // Symlinks: relative, absolute, dangling, to a directory, old.
        Op::Symlink {
            path: b("usr/bin/rel"),
            target: b("tool"),
            mtime: None,
        },
        Op::Symlink {
            path: b("usr/abs"),
            target: b("/usr/bin/tool"),
            mtime: Some(OLDER),
        },
        Op::Symlink {
            path: b("dangling"),
            target: b("../nowhere"),
            mtime: None,
        },
        Op::Symlink {
            path: b("x/dirlink"),
            target: b("a"),
            mtime: None,
        },
    ];
    // Names around the 100-byte limit (archive names start with "./").
    let dir = "l".repeat(60);
    v.push(Op::Dir {
        path: b(&dir),
        mode: 0o755,
        mtime: OLDER,
    });
    for total in [99usize, 100, 101, 150] {
        // "./" + dir + "/" + name = total
        let name = "n".repeat(total - 3 - dir.len() - 1) + &format!("{total:03}");
        v.push(Op::File {
            path: b(&format!("{dir}/{name}")),
            data: b(&name),
            mode: 0o644,
            mtime: OLDER,
        });
    }
    let long_dir = format!("{dir}/{}", "d".repeat(120));
    v.push(Op::Dir {
        path: b(&long_dir),
        mode: 0o755,
        mtime: OLDER,
    });
    v.push(Op::File {
        path: b(&format!("{long_dir}/f")),
        data: b("deep\n"),
        mode: 0o644,
        mtime: OLDER,
    });
    v.push(Op::Symlink {
        path: b(&format!("{long_dir}/long-target")),
        target: b(&"t".repeat(140)),
        mtime: None,
    });
    v.push(Op::Symlink {
        path: b(&format!("{dir}/target100")),
        target: b(&"u".repeat(100)),
        mtime: None,
    });
    v.push(Op::HardLink {
        path: b(&format!("{long_dir}/hl-long")),
        to: b(&format!("{long_dir}/f")),
    });
    if with_script {
        v.push(Op::File {
            path: b("DEBIAN/postinst"),
            data: b("#!/bin/sh\nset -e\nexit 0\n"),
            mode: 0o755,
            mtime: OLDER,
        });
    }
    v
}

fn os(p: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(p))
}

fn set_mtime(path: &Path, mtime: i64) {
    let t = FileTime::from_unix_time(mtime, 0);
    filetime::set_symlink_file_times(path, t, t)
        .unwrap_or_else(|e| panic!("mtime {}: {e}", path.display()));
}

/// Build the standard tree under `root`. `reverse` creates the entries in
/// the opposite order (the bytes must not change).
pub fn make_tree(root: &Path, reverse: bool) {
    make_tree_with(root, reverse, true)
}

pub fn make_tree_with(root: &Path, reverse: bool, with_script: bool) {
    let mut list = ops(with_script);
    if reverse {
        list.reverse();
    }
    fs::create_dir_all(root).unwrap();
    let mut dirs = Vec::new();
    let mut links = Vec::new();
    for op in &list {
        match op {
            Op::Dir { path, mode, mtime } => {
                fs::create_dir_all(root.join(os(path))).unwrap();
                dirs.push((root.join(os(path)), *mode, *mtime));
            }
            Op::File {
                path,
                data,
                mode,
                mtime,
            } => {
                let p = root.join(os(path));
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(&p, data).unwrap();
                fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
                set_mtime(&p, *mtime);
            }
            Op::Symlink {
                path,
                target,
                mtime,
            } => {
                let p = root.join(os(path));
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                symlink(os(target), &p).unwrap();
                if let Some(m) = mtime {
                    set_mtime(&p, *m);
                }
            }
            Op::HardLink { path, to } => links.push((path.clone(), to.clone())),
        }
    }
    for (path, to) in links {
        let p = root.join(os(&path));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::hard_link(root.join(os(&to)), &p).unwrap();
    }
    // Directory modes and times last, deepest first (adding entries
    // changes a directory's mtime; a 0700 dir must stay writable until then).
    dirs.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.as_os_str().len()));
    for (p, mode, mtime) in dirs {
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        set_mtime(&p, mtime);
    }
    // Parents created implicitly: give them a fixed mode (umask-proof).
    for d in [
        "etc",
        "usr",
        "usr/bin",
        "usr/share",
        "z",
        "x/deep",
        "x/deep/er",
    ] {
        let p = root.join(d);
        if p.is_dir() {
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Add a file of `len` bytes (streamed to disk, never held whole): lines
/// with a counter and a few pseudo-random words, padded with runs that
/// compress fast, so that the test spends its time on layout, not on xz.
pub fn add_big_file(root: &Path, rel: &str, len: u64) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::new(fs::File::create(&p).unwrap());
    let words = ["alpha ", "beta ", "gamma ", "delta\n"];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut written = 0u64;
    let mut line = Vec::with_capacity(4096);
    let mut i = 0u64;
    while written < len {
        line.clear();
        line.extend_from_slice(format!("line {i:08} ").as_bytes());
        for _ in 0..5 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            line.extend_from_slice(words[(x % 4) as usize].as_bytes());
        }
        line.resize(3999, b'x');
        line.push(b'\n');
        let n = line.len().min((len - written) as usize);
        f.write_all(&line[..n]).unwrap();
        written += n as u64;
        i += 1;
    }
    f.flush().unwrap();
    drop(f);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    set_mtime(&p, OLDER);
}

/// `SOURCE_DATE_EPOCH=SDE dpkg-deb --root-owner-group -Z<c> --build root out`.
pub fn dpkg_deb(root: &Path, out: &Path, compressor: &str) {
    let o = Command::new("dpkg-deb")
        .env("SOURCE_DATE_EPOCH", SDE.to_string())
        .arg("--root-owner-group")
        .arg(format!("-Z{compressor}"))
        .arg("--build")
        .arg(root)
        .arg(out)
        .output()
        .expect("run dpkg-deb");
    assert!(
        o.status.success(),
        "dpkg-deb failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Compare two files without reading either whole into memory; on a
/// difference, name the first differing offset.
pub fn assert_same_bytes(a: &Path, b: &Path) {
    use std::io::Read;
    let mut fa = std::io::BufReader::new(fs::File::open(a).unwrap());
    let mut fb = std::io::BufReader::new(fs::File::open(b).unwrap());
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut off = 0u64;
    loop {
        let na = read_full(&mut fa, &mut ba);
        let nb = read_full(&mut fb, &mut bb);
        if let Some(i) = (0..na.min(nb)).find(|&i| ba[i] != bb[i]) {
            panic!(
                "{} and {} differ at byte {}",
                a.display(),
                b.display(),
                off + i as u64
            );
        }
        assert_eq!(
            na,
            nb,
            "{} and {} differ in length",
            a.display(),
            b.display()
        );
        if na == 0 {
            return;
        }
        off += na as u64;
    }
    fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() {
            match r.read(&mut buf[n..]).unwrap() {
                0 => break,
                k => n += k,
            }
        }
        n
    }
}

/// The files left in a directory (to prove no partial output remains).
pub fn dir_names(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}
