//! The release signer's side: turning sha256-pinned sdists into reproducible
//! wheels and publishing them (`venvdeb wheels …`).
//!
//! One file per job: `pins` (the hash-pinned requirement lists that name the
//! sdists and the backends), `sdist` (verify and unpack source archives
//! safely), `backend` (a build environment from verified backend wheels and
//! the PEP 517 hook driver), `requires` (checking build requirements),
//! `build` (the whole `wheels build` chain),
//! `normalize` (the canonical wheel zip), `sums` (`sha256sum` lists), `lock`
//! (requirements.txt / pylock.toml writer), `index` (static PEP 503 index,
//! with the signed list at its root), `sync` (a verified local copy of such
//! an index's wheels).
//! Reading wheels for *verification* is not here: that is `crate::wheel` and
//! `crate::verify`.

pub(crate) mod backend;
pub(crate) mod build;
pub(crate) mod digest;
pub(crate) mod index;
pub(crate) mod lock;
pub(crate) mod normalize;
pub(crate) mod pins;
pub(crate) mod requires;
pub(crate) mod sdist;
pub(crate) mod sums;
pub(crate) mod sync;
