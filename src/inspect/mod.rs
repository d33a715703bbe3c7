//! Inspection for reproducibility checkers: reading any .deb as a stream
//! (`debreader`, `tarstream`), comparing two packages (`diff`, `content`),
//! the build manifest and CycloneDX SBOM venvdeb writes into every package
//! (`manifest`, `sbom`, both in `canonical` JSON), the in-toto/SLSA
//! provenance statement written beside the .deb (`provenance`), and checking
//! an installed venv against its manifest (`audit`). The build pipeline
//! itself is not here (`crate::pipeline`): it calls `manifest::write_docs` at
//! the end of staging.
pub mod audit;
pub mod canonical;
pub mod content;
pub mod controlfile;
pub mod debreader;
pub mod diff;
pub mod hashio;
pub mod manifest;
pub mod provenance;
pub mod rebuild;
pub mod sbom;
pub mod tarstream;
pub mod view;
