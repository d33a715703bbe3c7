//! Inspection for reproducibility checkers: reading any .deb as a stream
//! (`debreader`, `tarstream`), comparing two packages (`diff`, `content`),
//! the build manifest and CycloneDX SBOM venvdeb writes into every package
//! (`manifest`, `sbom`, both in `canonical` JSON), the in-toto/SLSA
//! provenance statement written beside the .deb (`provenance`), and checking
//! an installed venv against its manifest (`audit`). The build pipeline
//! itself is not here (`crate::pipeline`): it calls `manifest::write_docs` at
//! the end of staging.
pub(crate) mod audit;
pub(crate) mod canonical;
pub(crate) mod content;
pub(crate) mod controlfile;
pub(crate) mod debreader;
pub(crate) mod diff;
pub(crate) mod hashio;
pub mod manifest;
pub(crate) mod provenance;
pub(crate) mod rebuild;
pub(crate) mod sbom;
pub(crate) mod tarstream;
pub(crate) mod view;
