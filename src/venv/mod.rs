//! The virtualenv, built natively for its final prefix: the interpreter query
//! (`interpreter`), the layout `python -m venv --without-pip` makes
//! (`layout`), wheels unpacked from verified archives (`install`), launcher
//! scripts (`scripts`) and the bytecode policy (`bytecode`).
pub(crate) mod bytecode;
pub(crate) mod deferred;
pub(crate) mod install;
pub(crate) mod interpreter;
pub(crate) mod layout;
pub(crate) mod scripts;
